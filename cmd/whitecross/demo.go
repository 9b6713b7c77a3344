package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"whitecross"
	"whitecross/store"
)

// demoPassword signs in every demo user. It is printed at start and is
// only ever used for the demo data.
const demoPassword = "whitecross demo day"

// demoTenant is one seeded district. Names refer to each other by location
// name and user email, so the whole demo reads as data.
type demoTenant struct {
	Slug, Name, Timezone string
	Locations            []demoLocation // parents before children
	Users                []demoUser     // the first ADMIN creates the groups
	Students             []demoStudent
	Groups               []demoGroup
	Messages             []demoMessage
}

type demoLocation struct {
	Name   string
	Kind   whitecross.LocationKind
	Parent string // name of the parent location, "" for the root
}

type demoUser struct {
	Email, Name string
	Role        whitecross.Role
	Phone       string
	Locations   []string // location names
}

type demoStudent struct {
	Name, Grade, Location string
	Guardians             []demoGuardian
}

type demoGuardian struct {
	Email   string
	Custody bool
}

type demoGroup struct {
	Name    string
	Members []string // emails
}

// demoMessage is a seeded message and, optionally, the first recipient's
// reply. Key makes seeding idempotent through the product's own
// Idempotency-Key: a second run replays instead of sending again.
type demoMessage struct {
	Key, From   string
	To          []string // emails
	Groups      []string // group names
	Subject     string
	Body        string
	Format      whitecross.BodyFormat
	Category    whitecross.Category
	Priority    whitecross.Priority
	Sensitive   bool // asked by the sender; health categories are sensitive anyway by the district's default
	Attachments []whitecross.Attachment
	// Channels besides IN_APP: with --demo, email and SMS land in the dev
	// outbox (a sensitive message as a notice only).
	Channels []whitecross.Channel
	Reply    string
}

// demoTenants is the demo data: a district with two schools, staff,
// guardians and students (one non-custodial guardian shows the custody
// rule), and a second small district that shows tenant isolation.
func demoTenants() []demoTenant {
	const (
		district   = "Demo Unified School District"
		lincoln    = "Lincoln Elementary"
		washington = "Washington Middle School"
		riverside  = "Riverside School District"
		riverHigh  = "Riverside High School"
	)
	return []demoTenant{{
		Slug: "demo", Name: district, Timezone: "America/Chicago",
		Locations: []demoLocation{
			{Name: district, Kind: whitecross.LocationDistrict},
			{Name: lincoln, Kind: whitecross.LocationSchool, Parent: district},
			{Name: washington, Kind: whitecross.LocationSchool, Parent: district},
		},
		Users: []demoUser{
			{Email: "admin@demo.example", Name: "Alex Rivera", Role: whitecross.RoleAdmin, Phone: "+15550100010", Locations: []string{district}},
			{Email: "principal.lincoln@demo.example", Name: "Patricia Gomez", Role: whitecross.RoleSchoolAdmin, Phone: "+15550100011", Locations: []string{lincoln}},
			{Email: "nurse.lincoln@demo.example", Name: "Nora Lee", Role: whitecross.RoleNurse, Phone: "+15550100012", Locations: []string{lincoln}},
			{Email: "nurse.washington@demo.example", Name: "Walter Kim", Role: whitecross.RoleNurse, Phone: "+15550100013", Locations: []string{washington}},
			{Email: "teacher.lincoln@demo.example", Name: "Terry Brooks", Role: whitecross.RoleStaff, Phone: "+15550100014", Locations: []string{lincoln}},
			{Email: "guardian.garcia@demo.example", Name: "Maria Garcia", Role: whitecross.RoleGuardian, Phone: "+15550100001"},
			{Email: "guardian.johnson@demo.example", Name: "James Johnson", Role: whitecross.RoleGuardian, Phone: "+15550100002"},
			{Email: "guardian.nguyen@demo.example", Name: "Linh Nguyen", Role: whitecross.RoleGuardian, Phone: "+15550100003"},
			{Email: "guardian.smith@demo.example", Name: "Chris Smith", Role: whitecross.RoleGuardian, Phone: "+15550100004"},
		},
		Students: []demoStudent{
			{Name: "Sofia Garcia", Grade: "2", Location: lincoln, Guardians: []demoGuardian{{"guardian.garcia@demo.example", true}}},
			// Chris Smith is Ethan's non-custodial parent: staff cannot
			// message them about Ethan, and they cannot reach Lincoln staff.
			{Name: "Ethan Johnson", Grade: "K", Location: lincoln, Guardians: []demoGuardian{
				{"guardian.johnson@demo.example", true}, {"guardian.smith@demo.example", false}}},
			{Name: "Noah Johnson", Grade: "7", Location: washington, Guardians: []demoGuardian{{"guardian.johnson@demo.example", true}}},
			{Name: "Mia Nguyen", Grade: "8", Location: washington, Guardians: []demoGuardian{{"guardian.nguyen@demo.example", true}}},
		},
		Groups: []demoGroup{
			{Name: "Lincoln nurses and staff", Members: []string{"principal.lincoln@demo.example", "nurse.lincoln@demo.example", "teacher.lincoln@demo.example"}},
			{Name: "District nurses", Members: []string{"nurse.lincoln@demo.example", "nurse.washington@demo.example"}},
		},
		Messages: []demoMessage{{
			Key: "demo-message-1", From: "nurse.lincoln@demo.example", To: []string{"guardian.garcia@demo.example"},
			Subject: "Sofia used her inhaler today", Format: whitecross.BodyMarkdown,
			Body:     "Hello Ms. Garcia,\n\nSofia used her **albuterol inhaler** at recess (two puffs, 10:40). She rested in the health office for 20 minutes and went back to class breathing comfortably.\n\n- Her inhaler has about **10 doses left**\n- Please send a refill when you can\n\nNora Lee, RN — Lincoln Elementary",
			Category: whitecross.CategoryMedication, Priority: whitecross.PriorityMedium, Sensitive: true,
			Channels: []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS},
			Reply:    "Thank you for letting me know. I will bring a new inhaler tomorrow morning.",
		}, {
			Key: "demo-message-2", From: "nurse.lincoln@demo.example", To: []string{"guardian.johnson@demo.example"},
			Subject: "Lice screening results", Format: whitecross.BodyPlain,
			Body:     "Hello Mr. Johnson,\n\nEthan's head-lice screening today was clear. No action is needed.\n\nNora Lee, RN",
			Category: whitecross.CategoryHealthUpdate, Priority: whitecross.PriorityLow,
			Channels: []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS},
		}, {
			Key: "demo-message-3", From: "nurse.washington@demo.example", To: []string{"guardian.nguyen@demo.example"},
			Subject: "Tdap booster record needed for Mia", Format: whitecross.BodyMarkdown,
			Body:     "Hello,\n\nState law requires a **Tdap booster** for 7th grade and up. We have no record of Mia's. Please upload it or bring it to the health office by **Friday**.",
			Category: whitecross.CategoryImmunization, Priority: whitecross.PriorityHigh,
			Attachments: []whitecross.Attachment{{URL: "https://www.cdc.gov/vaccines/hcp/imz-schedules/child-adolescent.html", Name: "Immunization schedule"}},
		}, {
			Key: "demo-message-4", From: "admin@demo.example", Groups: []string{"Lincoln nurses and staff"},
			Subject: "Shelter-in-place drill Thursday 10:00", Format: whitecross.BodyPlain,
			Body:     "We will hold a shelter-in-place drill on Thursday at 10:00. Nurses: please bring the emergency medication kits to your assigned rooms.",
			Category: whitecross.CategoryReminder, Priority: whitecross.PriorityHigh,
		}},
	}, {
		Slug: "riverside", Name: riverside, Timezone: "America/Denver",
		Locations: []demoLocation{
			{Name: riverside, Kind: whitecross.LocationDistrict},
			{Name: riverHigh, Kind: whitecross.LocationSchool, Parent: riverside},
		},
		Users: []demoUser{
			{Email: "admin@riverside.example", Name: "Riley Park", Role: whitecross.RoleAdmin, Phone: "+15550100020", Locations: []string{riverside}},
			{Email: "nurse@riverside.example", Name: "Morgan Diaz", Role: whitecross.RoleNurse, Phone: "+15550100021", Locations: []string{riverHigh}},
			{Email: "guardian@riverside.example", Name: "Sam Martin", Role: whitecross.RoleGuardian, Phone: "+15550100005"},
		},
		Students: []demoStudent{
			{Name: "Ava Martin", Grade: "10", Location: riverHigh, Guardians: []demoGuardian{{"guardian@riverside.example", true}}},
		},
	}}
}

// demoLogin is one printed demo sign-in.
type demoLogin struct {
	Tenant, Email string
	Role          whitecross.Role
}

// seedDemo creates whatever part of the demo data is missing, matching
// existing records by tenant slug, location name, user email, student name
// and group name, so running it again (or after an interrupted run) never
// duplicates anything. It returns the demo logins.
func seedDemo(ctx context.Context, st *store.Store) ([]demoLogin, error) {
	var logins []demoLogin
	for _, dt := range demoTenants() {
		if err := seedDemoTenant(ctx, st, dt); err != nil {
			return nil, fmt.Errorf("demo tenant %s: %w", dt.Slug, err)
		}
		for _, u := range dt.Users {
			logins = append(logins, demoLogin{Tenant: dt.Slug, Email: u.Email, Role: u.Role})
		}
	}
	return logins, nil
}

func seedDemoTenant(ctx context.Context, st *store.Store, dt demoTenant) error {
	t, err := st.FindTenantBySlug(ctx, dt.Slug)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		t = &whitecross.Tenant{Slug: dt.Slug, Name: dt.Name, Timezone: dt.Timezone}
		err = st.CreateTenant(whitecross.SystemContext(ctx, ""), t)
	}
	if err != nil {
		return err
	}
	sys := whitecross.SystemContext(ctx, t.ID)

	locations, err := st.ListLocations(sys)
	if err != nil {
		return err
	}
	locationIDs := map[string]string{}
	for _, l := range locations {
		locationIDs[l.Name] = l.ID
	}
	for _, dl := range dt.Locations {
		if _, ok := locationIDs[dl.Name]; ok {
			continue
		}
		l := &whitecross.Location{Name: dl.Name, Kind: dl.Kind}
		if dl.Parent != "" {
			parent := locationIDs[dl.Parent]
			l.ParentID = &parent
		}
		if err := st.CreateLocation(sys, l); err != nil {
			return fmt.Errorf("location %s: %w", dl.Name, err)
		}
		locationIDs[dl.Name] = l.ID
	}

	userIDs := map[string]string{}
	var admin *whitecross.Actor
	for _, du := range dt.Users {
		id, err := ensureDemoUser(sys, st, t.ID, du, locationIDs)
		if err != nil {
			return fmt.Errorf("user %s: %w", du.Role, err)
		}
		userIDs[du.Email] = id
		if admin == nil && du.Role == whitecross.RoleAdmin {
			admin = &whitecross.Actor{UserID: id, TenantID: t.ID, Role: whitecross.RoleAdmin}
		}
	}

	students, err := st.ListStudents(sys)
	if err != nil {
		return err
	}
	haveStudent := map[string]bool{}
	for _, s := range students {
		haveStudent[s.Name] = true
	}
	for _, ds := range dt.Students {
		if haveStudent[ds.Name] {
			continue
		}
		s := &whitecross.Student{Name: ds.Name, Grade: ds.Grade, LocationID: locationIDs[ds.Location]}
		for _, g := range ds.Guardians {
			s.Guardians = append(s.Guardians, whitecross.Guardianship{UserID: userIDs[g.Email], Custody: g.Custody})
		}
		if err := st.CreateStudent(sys, s); err != nil {
			return fmt.Errorf("student: %w", err)
		}
	}

	if len(dt.Groups) == 0 {
		return seedDemoMessages(ctx, st, t.ID, dt.Messages, userIDs)
	}
	// Groups are created by the district administrator, as through the API.
	adminCtx := whitecross.NewContextWithActor(ctx, admin)
	groups, err := st.ListGroups(adminCtx)
	if err != nil {
		return err
	}
	haveGroup := map[string]bool{}
	for _, g := range groups {
		haveGroup[g.Name] = true
	}
	for _, dg := range dt.Groups {
		if haveGroup[dg.Name] {
			continue
		}
		g := &whitecross.Group{Name: dg.Name}
		for _, email := range dg.Members {
			g.MemberIDs = append(g.MemberIDs, userIDs[email])
		}
		if err := st.CreateGroup(adminCtx, g); err != nil {
			return fmt.Errorf("group %s: %w", dg.Name, err)
		}
	}
	return seedDemoMessages(ctx, st, t.ID, dt.Messages, userIDs)
}

// ensureDemoUser returns the id of the user with du's email, creating the
// user with the demo password when missing.
func ensureDemoUser(ctx context.Context, st *store.Store, tenantID string, du demoUser, locationIDs map[string]string) (string, error) {
	c, err := st.FindCredentials(ctx, tenantID, du.Email)
	if err == nil {
		return c.User.ID, nil
	} else if whitecross.ErrorCode(err) != whitecross.ENOTFOUND {
		return "", err
	}
	in := &whitecross.UserCreate{Email: du.Email, Name: du.Name, Role: du.Role, Phone: du.Phone, Password: demoPassword}
	for _, name := range du.Locations {
		in.LocationIDs = append(in.LocationIDs, locationIDs[name])
	}
	u, err := st.CreateUser(ctx, in)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// writeDemoBanner prints where the demo runs and how to sign in, in one
// write, so that no log line on the same terminal lands inside it.
func writeDemoBanner(w io.Writer, publicURL string, logins []demoLogin) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nwhitecross demo is running at %s\n", publicURL)
	fmt.Fprintf(&b, "API docs: %s/api/docs\n\n", publicURL)
	fmt.Fprintf(&b, "Sign in with password %q as any of:\n\n", demoPassword)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TENANT\tEMAIL\tROLE")
	for _, l := range logins {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Tenant, l.Email, l.Role)
	}
	tw.Flush()
	fmt.Fprintln(&b)
	_, _ = w.Write(b.Bytes())
}

// seedDemoMessages sends the demo conversations as their senders would, with
// a fixed Idempotency-Key each, so a second run replays them unchanged.
func seedDemoMessages(ctx context.Context, st *store.Store, tenantID string, msgs []demoMessage, userIDs map[string]string) error {
	if len(msgs) == 0 {
		return nil
	}
	users := map[string]*whitecross.Actor{}
	as := func(email string) context.Context {
		if users[email] == nil {
			u, err := st.FindUserByID(whitecross.SystemContext(ctx, tenantID), userIDs[email])
			if err == nil {
				users[email] = &whitecross.Actor{UserID: u.ID, TenantID: tenantID, Role: u.Role}
			}
		}
		return whitecross.NewContextWithActor(ctx, users[email])
	}
	for _, dm := range msgs {
		sender := as(dm.From)
		groups, err := st.ListGroups(sender)
		if err != nil {
			return err
		}
		in := &whitecross.MessageCreate{
			Subject: dm.Subject, Body: dm.Body, BodyFormat: dm.Format, Category: dm.Category,
			Priority: dm.Priority, Sensitive: new(dm.Sensitive), Attachments: dm.Attachments, Channels: dm.Channels,
			IdempotencyKey: dm.Key, RequestHash: demoRequestHash(dm.Key),
		}
		for _, email := range dm.To {
			in.RecipientIDs = append(in.RecipientIDs, userIDs[email])
		}
		for _, g := range groups {
			if slices.Contains(dm.Groups, g.Name) {
				in.GroupIDs = append(in.GroupIDs, g.ID)
			}
		}
		m, err := st.SendMessage(sender, in)
		if err != nil {
			return fmt.Errorf("message %s: %w", dm.Key, err)
		}
		if dm.Reply == "" {
			continue
		}
		reply := &whitecross.ReplyCreate{Body: dm.Reply, BodyFormat: whitecross.BodyPlain,
			IdempotencyKey: dm.Key + "-reply", RequestHash: demoRequestHash(dm.Key + "-reply")}
		if _, err := st.Reply(as(dm.To[0]), m.ID, reply); err != nil {
			return fmt.Errorf("reply %s: %w", dm.Key, err)
		}
	}
	return nil
}

// demoRequestHash stands for the request fingerprint the API computes: the
// seed's requests never change, so their key identifies them.
func demoRequestHash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}
