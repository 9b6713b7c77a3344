package storetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// messageTable is who may message whom in the seeded District: every
// active user the caller reaches. FormerStaff (deactivated) and
// NonCustodialParent (no custody) appear in no list.
var messageTable = map[string][]string{
	"Admin":              {"DistrictNurse", "LincolnAdmin", "LincolnNurse", "LincolnStaff", "AnnexStaff", "WashingtonAdmin", "WashingtonNurse", "LincolnParent", "NonCustodialParent", "AnnexParent", "WashingtonParent"},
	"DistrictNurse":      {"LincolnAdmin", "LincolnNurse", "LincolnStaff", "AnnexStaff", "WashingtonAdmin", "WashingtonNurse", "LincolnParent", "AnnexParent", "WashingtonParent"},
	"LincolnAdmin":       {"DistrictNurse", "LincolnNurse", "LincolnStaff", "AnnexStaff", "LincolnParent", "AnnexParent"},
	"LincolnNurse":       {"DistrictNurse", "LincolnAdmin", "LincolnStaff", "AnnexStaff", "LincolnParent", "AnnexParent"},
	"LincolnStaff":       {"DistrictNurse", "LincolnAdmin", "LincolnNurse", "AnnexStaff", "LincolnParent", "AnnexParent"},
	"AnnexStaff":         {"DistrictNurse", "LincolnAdmin", "LincolnNurse", "LincolnStaff", "AnnexParent"},
	"WashingtonAdmin":    {"DistrictNurse", "WashingtonNurse", "WashingtonParent"},
	"WashingtonNurse":    {"DistrictNurse", "WashingtonAdmin", "WashingtonParent"},
	"LincolnParent":      {"DistrictNurse", "LincolnAdmin", "LincolnNurse", "LincolnStaff"},
	"NonCustodialParent": {},
	"AnnexParent":        {"DistrictNurse", "LincolnAdmin", "LincolnNurse", "LincolnStaff", "AnnexStaff"},
	"WashingtonParent":   {"DistrictNurse", "WashingtonAdmin", "WashingtonNurse"},
}

// adminTable is who administers whom, besides Admin (everyone).
var adminTable = map[string][]string{
	"LincolnAdmin":    {"LincolnAdmin", "LincolnNurse", "LincolnStaff", "FormerStaff", "AnnexStaff", "LincolnParent", "NonCustodialParent", "AnnexParent"},
	"WashingtonAdmin": {"WashingtonAdmin", "WashingtonNurse", "WashingtonParent"},
}

func testWhoMayMessageWhom(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	var allIDs []string
	for _, u := range append(d.Users(), other.Users()...) {
		allIDs = append(allIDs, u.ID)
	}

	check := func(t *testing.T, label string, ctx context.Context, self string, want []string) {
		t.Helper()
		want = slices.Clone(want)
		sort.Strings(want)
		for _, limit := range []int{0, 1, 4} {
			got := d.labels(listAllUsers(t, b.st, ctx, whitecross.UserFilter{Limit: limit}))
			require.Equal(t, want, got, "%s lists (limit %d)", label, limit)
		}
		ok, err := b.st.FilterMessageable(ctx, allIDs)
		require.NoError(t, err)
		var got []string
		for id, v := range ok {
			require.True(t, v)
			got = append(got, d.Labels[id])
		}
		sort.Strings(got)
		if got == nil {
			got = []string{}
		}
		require.Equal(t, want, got, "%s may message", label)

		for _, u := range append(d.Users(), other.Users()...) {
			ulabel := d.Labels[u.ID]
			_, err := b.st.FindUserByID(ctx, u.ID)
			visible := u.ID == self || contains(want, ulabel) || label == "Admin" || label == "System" ||
				contains(adminTable[label], ulabel)
			if ulabel == "" {
				visible = false // another tenant
			}
			if visible {
				require.NoError(t, err, "%s finds %s", label, ulabel)
			} else {
				requireCode(t, err, whitecross.ENOTFOUND, "")
			}
		}
	}

	for label, want := range messageTable {
		t.Run(label, func(t *testing.T) {
			u := d.User(label)
			check(t, label, d.As(u), u.ID, want)
		})
	}
	t.Run("System", func(t *testing.T) {
		check(t, "System", d.System(), "", append(slices.Clone(messageTable["Admin"]), "Admin"))
	})
}

func testReachThroughAncestors(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	may := func(from, to *whitecross.User) bool {
		t.Helper()
		ok, err := b.st.FilterMessageable(d.As(from), []string{to.ID})
		require.NoError(t, err)
		return ok[to.ID]
	}
	// An ADMIN without a location is reached by no one but other admins;
	// one at the district office is reached by staff below it.
	require.False(t, may(d.LincolnNurse, d.Admin))
	require.True(t, may(d.Admin, d.LincolnNurse))
	_, err := b.st.UpdateUser(d.System(), d.Admin.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.District.ID}})
	require.NoError(t, err)
	require.True(t, may(d.LincolnNurse, d.Admin))
	require.True(t, may(d.AnnexStaff, d.Admin))
	require.False(t, may(d.LincolnParent, d.Admin), "guardians never reach ADMIN")

	// Custody given later opens reach both ways; a guardian's own location
	// opens none.
	require.False(t, may(d.LincolnNurse, d.NonCustodialParent))
	_, err = b.st.UpdateUser(d.System(), d.NonCustodialParent.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.Lincoln.ID}})
	require.NoError(t, err)
	require.False(t, may(d.LincolnNurse, d.NonCustodialParent), "a guardian's location_ids give no reach")
	require.False(t, may(d.NonCustodialParent, d.LincolnNurse))
	s := &whitecross.Student{Name: "Second Child", LocationID: d.Washington.ID, Grade: "K",
		Guardians: []whitecross.Guardianship{{UserID: d.NonCustodialParent.ID, Custody: true}}}
	require.NoError(t, b.st.CreateStudent(d.As(d.Admin), s))
	require.True(t, may(d.WashingtonNurse, d.NonCustodialParent))
	require.True(t, may(d.NonCustodialParent, d.WashingtonNurse))
	require.True(t, may(d.NonCustodialParent, d.DistrictNurse))
	require.False(t, may(d.LincolnNurse, d.NonCustodialParent), "custody at Washington gives Lincoln nothing")

	// Guardians never reach one another, even with a shared child.
	require.False(t, may(d.LincolnParent, d.NonCustodialParent))
	require.False(t, may(d.WashingtonParent, d.NonCustodialParent))
	require.False(t, may(d.LincolnNurse, d.LincolnNurse), "never yourself")
}

func testCrossTenant(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	a := SeedDistrict(t, b.st)
	o := SeedDistrictSlug(t, b.st, "shelbyville")
	group := &whitecross.Group{Name: "Shelbyville nurses", MemberIDs: []string{o.WashingtonNurse.ID}}
	require.NoError(t, b.st.CreateGroup(o.As(o.Admin), group))

	for _, ctx := range []context.Context{a.As(a.Admin), a.System(), a.As(a.DistrictNurse)} {
		for _, u := range o.Users() {
			_, err := b.st.FindUserByID(ctx, u.ID)
			requireCode(t, err, whitecross.ENOTFOUND, "")
			_, err = b.st.UpdateUser(ctx, u.ID, &whitecross.UserUpdate{Name: ptr("Hijacked")})
			requireCode(t, err, whitecross.ENOTFOUND, "")
			requireCode(t, b.st.DeactivateUser(ctx, u.ID), whitecross.ENOTFOUND, "")
		}
		for _, u := range listAllUsers(t, b.st, ctx, whitecross.UserFilter{Limit: 100}) {
			require.Equal(t, a.Tenant.ID, u.TenantID)
		}
		var ids []string
		for _, u := range o.Users() {
			ids = append(ids, u.ID)
		}
		ok, err := b.st.FilterMessageable(ctx, ids)
		require.NoError(t, err)
		require.Empty(t, ok)
		_, err = b.st.FindStudentByID(ctx, o.LincolnStudent.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.FindGroupByID(ctx, group.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.FindLocationByID(ctx, o.Lincoln.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
		students, err := b.st.ListStudents(ctx)
		require.NoError(t, err)
		for _, s := range students {
			require.Equal(t, a.Tenant.ID, s.TenantID)
		}
		groups, err := b.st.ListGroups(ctx)
		require.NoError(t, err)
		require.Empty(t, groups)
	}
	ctx := a.As(a.Admin)
	_, err := b.st.CreateUser(ctx, &whitecross.UserCreate{Email: "x@x.example", Name: "X", Role: whitecross.RoleNurse, LocationIDs: []string{o.Lincoln.ID}})
	requireCode(t, err, whitecross.EINVALID, "body.location_ids[0]")
	err = b.st.CreateStudent(ctx, &whitecross.Student{Name: "X", Grade: "1", LocationID: o.Lincoln.ID})
	requireCode(t, err, whitecross.EINVALID, "body.location_id")
	err = b.st.CreateStudent(ctx, &whitecross.Student{Name: "X", Grade: "1", LocationID: a.Lincoln.ID,
		Guardians: []whitecross.Guardianship{{UserID: o.LincolnParent.ID, Custody: true}}})
	requireCode(t, err, whitecross.EINVALID, "body.guardians[0].user_id")
	err = b.st.CreateGroup(ctx, &whitecross.Group{Name: "X", MemberIDs: []string{a.LincolnNurse.ID, o.LincolnNurse.ID}})
	requireCode(t, err, whitecross.EINVALID, "body.member_ids[1]")
	_, err = b.st.ListUsers(ctx, whitecross.UserFilter{LocationID: o.Lincoln.ID})
	require.NoError(t, err)
	page, err := b.st.ListUsers(ctx, whitecross.UserFilter{LocationID: o.Lincoln.ID})
	require.NoError(t, err)
	require.Empty(t, page.Items, "another tenant's location matches nobody")
}

func testListUsersPagination(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	// Names that tie once lower-cased, so pages split inside a run of equal names.
	names := []string{"alice", "Alice", "ALICE", "bob", "Bob", "Zoë", "zoë", "Ärne", "mallory"}
	for i := range 45 {
		_, err := b.st.CreateUser(d.As(d.Admin), &whitecross.UserCreate{Email: fmt.Sprintf("p%02d@x.example", i),
			Name: names[i%len(names)], Role: whitecross.RoleStaff, LocationIDs: []string{d.Lincoln.ID}})
		require.NoError(t, err)
	}
	for _, ctx := range []context.Context{d.As(d.Admin), d.As(d.LincolnNurse)} {
		all := listAllUsers(t, b.st, ctx, whitecross.UserFilter{Limit: 100})
		for _, limit := range []int{1, 2, 7, 50} {
			got := listAllUsers(t, b.st, ctx, whitecross.UserFilter{Limit: limit})
			require.Equal(t, ids(all), ids(got), "limit %d returns every user once, in one order", limit)
		}
		seen := map[string]bool{}
		for _, u := range all {
			require.False(t, seen[u.ID], "repeated")
			seen[u.ID] = true
		}
		require.Equal(t, len(all), len(seen))
	}
	all := listAllUsers(t, b.st, d.As(d.Admin), whitecross.UserFilter{Limit: 100})
	require.Len(t, all, 11+45)
	for i := 1; i < len(all); i++ {
		prev, cur := strings.ToLower(all[i-1].Name), strings.ToLower(all[i].Name)
		if prev == cur {
			require.Less(t, all[i-1].ID, all[i].ID, "ties broken by id")
		}
	}

	t.Run("default and bad limits", func(t *testing.T) {
		page, err := b.st.ListUsers(d.As(d.Admin), whitecross.UserFilter{})
		require.NoError(t, err)
		require.Len(t, page.Items, 50)
		require.NotEmpty(t, page.NextCursor)
		for _, limit := range []int{-1, 101} {
			_, err := b.st.ListUsers(d.As(d.Admin), whitecross.UserFilter{Limit: limit})
			requireCode(t, err, whitecross.EINVALID, "query.limit")
		}
		for _, cursor := range []string{"!!!", "bm9wZQ", "WyJhIiwibm90LWEtdXVpZCJd", strings.Repeat("A", 3000)} {
			_, err := b.st.ListUsers(d.As(d.Admin), whitecross.UserFilter{Cursor: cursor})
			requireCode(t, err, whitecross.EINVALID, "query.cursor")
		}
	})

	t.Run("last page has no cursor", func(t *testing.T) {
		page, err := b.st.ListUsers(d.As(d.Admin), whitecross.UserFilter{Limit: 56})
		require.NoError(t, err)
		require.Len(t, page.Items, 56)
		require.Empty(t, page.NextCursor)
	})
}

func ids(users []*whitecross.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func testListUsersFilters(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	ctx := d.As(d.Admin)
	for _, in := range []whitecross.UserCreate{
		{Email: "percent@x.example", Name: "100% Nurse", Role: whitecross.RoleNurse, LocationIDs: []string{d.Washington.ID}},
		{Email: "under_score@x.example", Name: "Under Score", Role: whitecross.RoleStaff, LocationIDs: []string{d.Washington.ID}},
	} {
		_, err := b.st.CreateUser(ctx, &in)
		require.NoError(t, err)
	}
	list := func(ctx context.Context, f whitecross.UserFilter) []string {
		t.Helper()
		var out []string
		for _, u := range listAllUsers(t, b.st, ctx, f) {
			if l, ok := d.Labels[u.ID]; ok {
				out = append(out, l)
			} else {
				out = append(out, u.Name)
			}
		}
		sort.Strings(out)
		if out == nil {
			out = []string{}
		}
		return out
	}
	require.Equal(t, []string{"LincolnAdmin", "LincolnNurse", "LincolnParent", "LincolnStaff"}, list(ctx, whitecross.UserFilter{Query: "LINCOLN-"}))
	require.Equal(t, []string{"AnnexStaff"}, list(ctx, whitecross.UserFilter{Query: "annexstaff@"}), "matches email")
	require.Equal(t, []string{"100% Nurse"}, list(ctx, whitecross.UserFilter{Query: "%"}), "wildcards are literal")
	require.Equal(t, []string{"Under Score"}, list(ctx, whitecross.UserFilter{Query: "_"}))
	require.Equal(t, []string{"100% Nurse", "DistrictNurse", "LincolnNurse", "WashingtonNurse"}, list(ctx, whitecross.UserFilter{Role: whitecross.RoleNurse}))
	require.Equal(t, []string{"DistrictNurse", "LincolnNurse", "WashingtonNurse"}, list(ctx, whitecross.UserFilter{Role: "nurse", Query: "-nurse"}))
	require.Equal(t, []string{"AnnexParent", "AnnexStaff", "LincolnAdmin", "LincolnNurse", "LincolnParent", "LincolnStaff", "NonCustodialParent"},
		list(ctx, whitecross.UserFilter{LocationID: d.Lincoln.ID}), "a location includes those below it; guardians are where their students are")
	require.Equal(t, []string{"AnnexParent", "AnnexStaff"}, list(ctx, whitecross.UserFilter{LocationID: d.Annex.ID}))
	require.Equal(t, []string{"AnnexParent", "AnnexStaff"}, list(d.As(d.LincolnNurse), whitecross.UserFilter{LocationID: d.Annex.ID}))
	require.Equal(t, []string{"LincolnParent"}, list(d.As(d.LincolnNurse), whitecross.UserFilter{LocationID: d.Lincoln.ID, Role: whitecross.RoleGuardian, Query: "pat"}),
		"filters narrow the messageable set: no non-custodial parent")
	require.Equal(t, []string{}, list(d.As(d.LincolnParent), whitecross.UserFilter{Query: "washington"}))

	_, err := b.st.ListUsers(ctx, whitecross.UserFilter{Role: "BOSS"})
	requireCode(t, err, whitecross.EINVALID, "query.role")
	_, err = b.st.ListUsers(ctx, whitecross.UserFilter{LocationID: "nope"})
	requireCode(t, err, whitecross.EINVALID, "query.location_id")
	_, err = b.st.ListUsers(ctx, whitecross.UserFilter{Query: strings.Repeat("q", 201)})
	requireCode(t, err, whitecross.EINVALID, "query.q")
	page, err := b.st.ListUsers(ctx, whitecross.UserFilter{LocationID: uuid.NewString()})
	require.NoError(t, err)
	require.Empty(t, page.Items)
}

// testManyUsers checks the batched paths (IN lists over 500 ids) and that
// listing a large directory neither skips nor repeats.
func testManyUsers(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	ctx := context.Background()
	const n = 1200
	created := make([]string, n)
	now := b.clock.Now()
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		for i := range n {
			created[i] = uuid.NewString()
			loc := d.Lincoln.ID
			if i%2 == 1 {
				loc = d.Washington.ID
			}
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, name, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
				created[i], d.Tenant.ID, fmt.Sprintf("bulk%04d@x.example", i), fmt.Sprintf("Bulk %d", i%97), "STAFF", now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO user_locations (tenant_id, user_id, location_id) VALUES ($1, $2, $3)`,
				d.Tenant.ID, created[i], loc); err != nil {
				return err
			}
		}
		return nil
	}))

	query := append(slices.Clone(created), "not-a-uuid", uuid.NewString(), strings.ToUpper(created[0]), created[1])
	ok, err := b.st.FilterMessageable(d.As(d.LincolnNurse), query)
	require.NoError(t, err)
	for i, id := range created {
		require.Equal(t, i%2 == 0, ok[id], "bulk user %d", i)
	}
	require.True(t, ok[strings.ToUpper(created[0])], "ids are compared as UUIDs")
	require.Len(t, ok, n/2+1)

	tooMany := make([]string, 10001)
	_, err = b.st.FilterMessageable(d.As(d.Admin), tooMany)
	requireCode(t, err, whitecross.EINVALID, "")

	listed := listAllUsers(t, b.st, d.As(d.LincolnNurse), whitecross.UserFilter{Limit: 100, Query: "bulk"})
	require.Len(t, listed, n/2)
	seen := map[string]bool{}
	for _, u := range listed {
		require.False(t, seen[u.ID])
		seen[u.ID] = true
	}

	// A group as large as the batches: its members are inserted in batches too.
	var members []string
	for i := 0; i < n; i += 2 {
		members = append(members, created[i])
	}
	g := &whitecross.Group{Name: "Lincoln everyone", MemberIDs: members}
	require.NoError(t, b.st.CreateGroup(d.As(d.LincolnAdmin), g))
	got, err := b.st.FindGroupByID(d.As(d.LincolnNurse), g.ID)
	require.NoError(t, err)
	require.Len(t, got.MemberIDs, n/2)
	_, err = b.st.FindGroupByID(d.As(d.WashingtonNurse), g.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
}
