package storetest

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
)

func testStudents(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")

	names := map[string]string{d.LincolnStudent.ID: "Lincoln", d.AnnexStudent.ID: "Annex", d.WashingtonStudent.ID: "Washington"}
	visible := map[string][]string{
		"Admin":              {"Annex", "Lincoln", "Washington"},
		"DistrictNurse":      {"Annex", "Lincoln", "Washington"},
		"LincolnAdmin":       {"Annex", "Lincoln"},
		"LincolnNurse":       {"Annex", "Lincoln"},
		"LincolnStaff":       {"Annex", "Lincoln"},
		"AnnexStaff":         {"Annex"},
		"WashingtonAdmin":    {"Washington"},
		"WashingtonNurse":    {"Washington"},
		"LincolnParent":      {"Lincoln"},
		"NonCustodialParent": {},
		"AnnexParent":        {"Annex"},
		"WashingtonParent":   {"Washington"},
	}
	for label, want := range visible {
		u := d.User(label)
		list, err := b.st.ListStudents(d.As(u))
		require.NoError(t, err)
		got := []string{}
		for _, s := range list {
			got = append(got, names[s.ID])
		}
		sort.Strings(got)
		require.Equal(t, want, got, "%s lists", label)
		for id, name := range names {
			s, err := b.st.FindStudentByID(d.As(u), id)
			if contains(want, name) {
				require.NoError(t, err, "%s finds %s", label, name)
				if u.Role == whitecross.RoleGuardian {
					require.Equal(t, []whitecross.Guardianship{{UserID: u.ID, Custody: u.ID != d.NonCustodialParent.ID}}, s.Guardians,
						"a guardian sees only their own guardianship")
				}
			} else {
				requireCode(t, err, whitecross.ENOTFOUND, "")
			}
		}
	}
	s, err := b.st.FindStudentByID(d.As(d.LincolnNurse), d.LincolnStudent.ID)
	require.NoError(t, err)
	require.ElementsMatch(t, []whitecross.Guardianship{{UserID: d.LincolnParent.ID, Custody: true}, {UserID: d.NonCustodialParent.ID, Custody: false}}, s.Guardians)
	require.Equal(t, d.Lincoln.ID, s.LocationID)
	require.Equal(t, "3", s.Grade)
	_, err = b.st.FindStudentByID(d.As(d.Admin), other.LincolnStudent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.FindStudentByID(d.As(d.Admin), "nope")
	requireCode(t, err, whitecross.ENOTFOUND, "")

	t.Run("create", func(t *testing.T) {
		ctx := d.As(d.LincolnAdmin)
		s := &whitecross.Student{Name: " Kim Kindergarten ", LocationID: d.Annex.ID, Grade: " K ",
			Guardians: []whitecross.Guardianship{{UserID: d.AnnexParent.ID, Custody: true}, {UserID: d.LincolnParent.ID}}}
		require.NoError(t, b.st.CreateStudent(ctx, s))
		require.Equal(t, "Kim Kindergarten", s.Name)
		require.Equal(t, "K", s.Grade)
		require.NoError(t, uuid.Validate(s.ID))
		e := lastAudit(t, b.st, d.Tenant.ID)
		require.Equal(t, whitecross.AuditStudentCreated, e.Action)
		require.Equal(t, s.ID, e.TargetID)
		require.Equal(t, d.LincolnAdmin.ID, e.ActorID)

		got, err := b.st.FindStudentByID(d.As(d.AnnexParent), s.ID)
		require.NoError(t, err, "a new guardian with custody sees the child")
		require.Equal(t, []whitecross.Guardianship{{UserID: d.AnnexParent.ID, Custody: true}}, got.Guardians)
		for _, u := range []*whitecross.User{d.LincolnParent, d.WashingtonParent} {
			_, err = b.st.FindStudentByID(d.As(u), s.ID)
			requireCode(t, err, whitecross.ENOTFOUND, "")
		}

		err = b.st.CreateStudent(ctx, &whitecross.Student{Name: "X", LocationID: d.Washington.ID, Grade: "1"})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.location_id")
		for _, u := range []*whitecross.User{d.LincolnNurse, d.LincolnStaff, d.LincolnParent} {
			err := b.st.CreateStudent(d.As(u), &whitecross.Student{Name: "X", LocationID: d.Lincoln.ID, Grade: "1"})
			requireCode(t, err, whitecross.EFORBIDDEN, "")
		}
		require.NoError(t, b.st.CreateStudent(d.As(d.Admin), &whitecross.Student{Name: "No Guardian Yet", LocationID: d.Washington.ID, Grade: "PK"}))
	})

	t.Run("validation", func(t *testing.T) {
		ctx := d.As(d.Admin)
		valid := whitecross.Student{Name: "V", LocationID: d.Lincoln.ID, Grade: "3"}
		for _, tc := range []struct {
			edit  func(s *whitecross.Student)
			field string
		}{
			{func(s *whitecross.Student) { s.Name = "" }, "body.name"},
			{func(s *whitecross.Student) { s.Name = strings.Repeat("n", 201) }, "body.name"},
			{func(s *whitecross.Student) { s.Grade = "" }, "body.grade"},
			{func(s *whitecross.Student) { s.Grade = strings.Repeat("1", 17) }, "body.grade"},
			{func(s *whitecross.Student) { s.LocationID = "" }, "body.location_id"},
			{func(s *whitecross.Student) { s.LocationID = uuid.NewString() }, "body.location_id"},
			{func(s *whitecross.Student) { s.LocationID = other.Lincoln.ID }, "body.location_id"},
			{func(s *whitecross.Student) { s.Guardians = []whitecross.Guardianship{{UserID: "nope"}} }, "body.guardians[0].user_id"},
			{func(s *whitecross.Student) {
				s.Guardians = []whitecross.Guardianship{{UserID: d.LincolnParent.ID}, {UserID: uuid.NewString()}}
			}, "body.guardians[1].user_id"},
			{func(s *whitecross.Student) {
				s.Guardians = []whitecross.Guardianship{{UserID: d.LincolnParent.ID}, {UserID: d.LincolnNurse.ID}}
			}, "body.guardians[1].user_id"},
			{func(s *whitecross.Student) {
				s.Guardians = []whitecross.Guardianship{{UserID: d.LincolnParent.ID}, {UserID: strings.ToUpper(d.LincolnParent.ID)}}
			}, "body.guardians[1].user_id"},
			{func(s *whitecross.Student) { s.Guardians = make([]whitecross.Guardianship, 21) }, "body.guardians"},
		} {
			s := valid
			tc.edit(&s)
			requireCode(t, b.st.CreateStudent(ctx, &s), whitecross.EINVALID, tc.field)
		}
	})
}

func testGroups(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)

	for _, u := range []*whitecross.User{d.LincolnNurse, d.LincolnStaff, d.DistrictNurse, d.LincolnParent} {
		err := b.st.CreateGroup(d.As(u), &whitecross.Group{Name: "X", MemberIDs: []string{d.LincolnAdmin.ID}})
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	requireCode(t, b.st.CreateGroup(d.System(), &whitecross.Group{Name: "X", MemberIDs: []string{d.LincolnAdmin.ID}}), whitecross.EFORBIDDEN, "")

	lincoln := &whitecross.Group{Name: " Lincoln team ", MemberIDs: []string{d.LincolnNurse.ID, d.LincolnStaff.ID, d.LincolnParent.ID,
		strings.ToUpper(d.LincolnNurse.ID), d.LincolnAdmin.ID}}
	require.NoError(t, b.st.CreateGroup(d.As(d.LincolnAdmin), lincoln))
	require.Equal(t, "Lincoln team", lincoln.Name)
	require.Equal(t, d.LincolnAdmin.ID, lincoln.CreatedBy)
	require.ElementsMatch(t, []string{d.LincolnNurse.ID, d.LincolnStaff.ID, d.LincolnParent.ID, d.LincolnAdmin.ID}, lincoln.MemberIDs,
		"repeats dropped; the creator may include themselves")
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditGroupCreated, e.Action)
	require.Equal(t, lincoln.ID, e.TargetID)

	district := &whitecross.Group{Name: "All nurses", MemberIDs: []string{d.DistrictNurse.ID, d.LincolnNurse.ID, d.WashingtonNurse.ID}}
	require.NoError(t, b.st.CreateGroup(d.As(d.Admin), district))
	staff := &whitecross.Group{Name: "Lincoln staff", MemberIDs: []string{d.LincolnStaff.ID, d.AnnexStaff.ID}}
	require.NoError(t, b.st.CreateGroup(d.As(d.Admin), staff))

	t.Run("who may message which group", func(t *testing.T) {
		want := map[string][]string{
			"Admin":           {"All nurses", "Lincoln staff", "Lincoln team"},
			"LincolnAdmin":    {"Lincoln staff", "Lincoln team"},
			"LincolnNurse":    {"Lincoln staff", "Lincoln team"},
			"LincolnStaff":    {"Lincoln staff", "Lincoln team"},
			"AnnexStaff":      {"Lincoln staff"},
			"DistrictNurse":   {"All nurses", "Lincoln staff", "Lincoln team"},
			"WashingtonNurse": {},
			"LincolnParent":   {},
			"AnnexParent":     {},
		}
		names := map[string]string{lincoln.ID: lincoln.Name, district.ID: district.Name, staff.ID: staff.Name}
		for label, groups := range want {
			ctx := d.As(d.User(label))
			list, err := b.st.ListGroups(ctx)
			require.NoError(t, err)
			got := []string{}
			for _, g := range list {
				got = append(got, g.Name)
			}
			require.Equal(t, groups, got, "%s lists (by name)", label)
			for id, name := range names {
				g, err := b.st.FindGroupByID(ctx, id)
				if contains(groups, name) {
					require.NoError(t, err)
					require.Equal(t, name, g.Name)
				} else {
					requireCode(t, err, whitecross.ENOTFOUND, "")
				}
			}
		}
		got, err := b.st.FindGroupByID(d.As(d.LincolnNurse), lincoln.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, lincoln.MemberIDs, got.MemberIDs)
		_, err = b.st.FindGroupByID(d.As(d.Admin), "nope")
		requireCode(t, err, whitecross.ENOTFOUND, "")
	})

	t.Run("a deactivated member hides nothing", func(t *testing.T) {
		require.NoError(t, b.st.DeactivateUser(d.As(d.Admin), d.WashingtonNurse.ID))
		_, err := b.st.FindGroupByID(d.As(d.LincolnNurse), district.ID)
		require.NoError(t, err)
	})

	t.Run("members", func(t *testing.T) {
		ctx := d.As(d.LincolnAdmin)
		err := b.st.CreateGroup(ctx, &whitecross.Group{Name: "X", MemberIDs: []string{d.LincolnNurse.ID, d.WashingtonAdmin.ID}})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.member_ids[1]")
		err = b.st.CreateGroup(ctx, &whitecross.Group{Name: "X", MemberIDs: []string{d.NonCustodialParent.ID}})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.member_ids[0]")
		err = b.st.CreateGroup(ctx, &whitecross.Group{Name: "X", MemberIDs: []string{d.LincolnNurse.ID, d.FormerStaff.ID}})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.member_ids[1]")
		err = b.st.CreateGroup(ctx, &whitecross.Group{Name: "X", MemberIDs: []string{d.LincolnNurse.ID, uuid.NewString()}})
		requireCode(t, err, whitecross.EINVALID, "body.member_ids[1]")
		err = b.st.CreateGroup(ctx, &whitecross.Group{Name: "X", MemberIDs: []string{"nope"}})
		requireCode(t, err, whitecross.EINVALID, "body.member_ids[0]")
		err = b.st.CreateGroup(ctx, &whitecross.Group{Name: "X"})
		requireCode(t, err, whitecross.EINVALID, "body.member_ids")
		err = b.st.CreateGroup(ctx, &whitecross.Group{Name: "X", MemberIDs: make([]string, 10001)})
		requireCode(t, err, whitecross.EINVALID, "body.member_ids")
		err = b.st.CreateGroup(ctx, &whitecross.Group{Name: " ", MemberIDs: []string{d.LincolnNurse.ID}})
		requireCode(t, err, whitecross.EINVALID, "body.name")
		list, err := b.st.ListGroups(d.As(d.Admin))
		require.NoError(t, err)
		require.Len(t, list, 3, "refused groups are not stored")
	})
}
