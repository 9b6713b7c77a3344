package storetest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"testing"

	"whitecross"
	"whitecross/store"
)

// SeedPassword is the password of every user SeedDistrict creates.
const SeedPassword = "correct horse battery staple"

// testHasher is a fast, insecure whitecross.PasswordHasher for tests only:
// "test$" and the hex SHA-256 of the password. The real one is argon2id in
// package auth.
type testHasher struct{}

func (testHasher) HashPassword(_ context.Context, pw string) (string, error) {
	sum := sha256.Sum256([]byte(pw))
	return "test$" + hex.EncodeToString(sum[:]), nil
}

func (h testHasher) VerifyPassword(ctx context.Context, hash, pw string) (bool, error) {
	want, _ := h.HashPassword(ctx, pw)
	return subtle.ConstantTimeCompare([]byte(hash), []byte(want)) == 1, nil
}

// verifies reports whether pw matches hash under the test hasher.
func verifies(hash, pw string) bool {
	ok, _ := testHasher{}.VerifyPassword(context.Background(), hash, pw)
	return ok
}

// InsecureHasher returns the fast test-only hasher, for tests in other
// packages that need a store but not argon2id's cost. Never use it outside tests.
func InsecureHasher() whitecross.PasswordHasher { return testHasher{} }

// District is a tenant seeded by SeedDistrict:
//
//	District (DISTRICT)            DistrictNurse
//	├── Lincoln (SCHOOL)           LincolnAdmin, LincolnNurse, LincolnStaff, FormerStaff (deactivated)
//	│   └── Annex (CAMPUS)         AnnexStaff
//	└── Washington (SCHOOL)        WashingtonAdmin, WashingtonNurse
//
// Admin (ADMIN) has no location. Students and guardians:
// LincolnStudent at Lincoln (LincolnParent with custody, NonCustodialParent
// without), AnnexStudent at Annex (AnnexParent, custody), WashingtonStudent at
// Washington (WashingtonParent, custody). Every user's password is
// SeedPassword; emails are <label>@<slug>.example, lower-case.
type District struct {
	Store  *store.Store
	Tenant *whitecross.Tenant

	District, Lincoln, Annex, Washington *whitecross.Location

	Admin, DistrictNurse                                  *whitecross.User
	LincolnAdmin, LincolnNurse, LincolnStaff, FormerStaff *whitecross.User
	AnnexStaff, WashingtonAdmin, WashingtonNurse          *whitecross.User
	LincolnParent, NonCustodialParent, AnnexParent        *whitecross.User
	WashingtonParent                                      *whitecross.User
	LincolnStudent, AnnexStudent, WashingtonStudent       *whitecross.Student

	// Labels maps each seeded user's id to its field name, for readable
	// test failures.
	Labels map[string]string
}

// SeedDistrict creates the District above with slug "springfield" in st.
func SeedDistrict(t testing.TB, st *store.Store) *District {
	t.Helper()
	return SeedDistrictSlug(t, st, "springfield")
}

// SeedDistrictSlug is SeedDistrict with another slug, so that one database
// can hold several districts.
func SeedDistrictSlug(t testing.TB, st *store.Store, slug string) *District {
	t.Helper()
	ctx := context.Background()
	d := &District{Store: st, Labels: map[string]string{}}
	d.Tenant = &whitecross.Tenant{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:] + " Public Schools"}
	if err := st.CreateTenant(ctx, d.Tenant); err != nil {
		t.Fatalf("seed tenant: %v", err)
	}
	sys := d.System()
	loc := func(name string, kind whitecross.LocationKind, parent *whitecross.Location) *whitecross.Location {
		t.Helper()
		l := &whitecross.Location{Name: name, Kind: kind}
		if parent != nil {
			l.ParentID = &parent.ID
		}
		if err := st.CreateLocation(sys, l); err != nil {
			t.Fatalf("seed location %s: %v", name, err)
		}
		return l
	}
	d.District = loc("Springfield District Office", whitecross.LocationDistrict, nil)
	d.Lincoln = loc("Lincoln Elementary", whitecross.LocationSchool, d.District)
	d.Annex = loc("Lincoln Annex", whitecross.LocationCampus, d.Lincoln)
	d.Washington = loc("Washington Middle", whitecross.LocationSchool, d.District)

	user := func(label, name string, role whitecross.Role, locs ...*whitecross.Location) *whitecross.User {
		t.Helper()
		in := &whitecross.UserCreate{Email: strings.ToLower(label) + "@" + slug + ".example", Name: name, Role: role, Password: SeedPassword}
		for _, l := range locs {
			in.LocationIDs = append(in.LocationIDs, l.ID)
		}
		u, err := st.CreateUser(sys, in)
		if err != nil {
			t.Fatalf("seed user %s: %v", label, err)
		}
		d.Labels[u.ID] = label
		return u
	}
	d.Admin = user("Admin", "Ada Admin", whitecross.RoleAdmin)
	d.DistrictNurse = user("DistrictNurse", "Dana District-Nurse", whitecross.RoleNurse, d.District)
	d.LincolnAdmin = user("LincolnAdmin", "Lena Lincoln-Admin", whitecross.RoleSchoolAdmin, d.Lincoln)
	d.LincolnNurse = user("LincolnNurse", "Nora Lincoln-Nurse", whitecross.RoleNurse, d.Lincoln)
	d.LincolnStaff = user("LincolnStaff", "Sam Lincoln-Staff", whitecross.RoleStaff, d.Lincoln)
	d.FormerStaff = user("FormerStaff", "Fred Former-Staff", whitecross.RoleStaff, d.Lincoln)
	d.AnnexStaff = user("AnnexStaff", "Alex Annex-Staff", whitecross.RoleStaff, d.Annex)
	d.WashingtonAdmin = user("WashingtonAdmin", "Wade Washington-Admin", whitecross.RoleSchoolAdmin, d.Washington)
	d.WashingtonNurse = user("WashingtonNurse", "Wanda Washington-Nurse", whitecross.RoleNurse, d.Washington)
	d.LincolnParent = user("LincolnParent", "Pat Lincoln-Parent", whitecross.RoleGuardian)
	d.NonCustodialParent = user("NonCustodialParent", "Nick Noncustodial-Parent", whitecross.RoleGuardian)
	d.AnnexParent = user("AnnexParent", "Abby Annex-Parent", whitecross.RoleGuardian)
	d.WashingtonParent = user("WashingtonParent", "Walt Washington-Parent", whitecross.RoleGuardian)

	student := func(name string, at *whitecross.Location, gs ...whitecross.Guardianship) *whitecross.Student {
		t.Helper()
		s := &whitecross.Student{Name: name, LocationID: at.ID, Grade: "3", Guardians: gs}
		if err := st.CreateStudent(sys, s); err != nil {
			t.Fatalf("seed student %s: %v", name, err)
		}
		return s
	}
	d.LincolnStudent = student("Lily Lincoln-Student", d.Lincoln,
		whitecross.Guardianship{UserID: d.LincolnParent.ID, Custody: true},
		whitecross.Guardianship{UserID: d.NonCustodialParent.ID, Custody: false})
	d.AnnexStudent = student("Andy Annex-Student", d.Annex, whitecross.Guardianship{UserID: d.AnnexParent.ID, Custody: true})
	d.WashingtonStudent = student("Will Washington-Student", d.Washington, whitecross.Guardianship{UserID: d.WashingtonParent.ID, Custody: true})

	if err := st.DeactivateUser(sys, d.FormerStaff.ID); err != nil {
		t.Fatalf("seed deactivate: %v", err)
	}
	former, err := st.FindUserByID(sys, d.FormerStaff.ID)
	if err != nil {
		t.Fatalf("seed deactivate: %v", err)
	}
	d.FormerStaff = former
	return d
}

// As returns a context whose caller is u (with u's current role).
func (d *District) As(u *whitecross.User) context.Context {
	return whitecross.NewContextWithActor(context.Background(),
		&whitecross.Actor{UserID: u.ID, TenantID: d.Tenant.ID, Role: u.Role, ClientIP: "192.0.2.1"})
}

// System returns a context whose caller is the system inside the district.
func (d *District) System() context.Context {
	return whitecross.SystemContext(context.Background(), d.Tenant.ID)
}

// Users returns every seeded user, including the deactivated one.
func (d *District) Users() []*whitecross.User {
	return []*whitecross.User{d.Admin, d.DistrictNurse, d.LincolnAdmin, d.LincolnNurse, d.LincolnStaff, d.FormerStaff,
		d.AnnexStaff, d.WashingtonAdmin, d.WashingtonNurse, d.LincolnParent, d.NonCustodialParent, d.AnnexParent, d.WashingtonParent}
}

// User returns the seeded user with the given label (field name).
func (d *District) User(label string) *whitecross.User {
	for _, u := range d.Users() {
		if d.Labels[u.ID] == label {
			return u
		}
	}
	return nil
}
