package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exec runs one statement of test setup (what an import would have written).
func (b *directoryBundle) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	require.NoError(t, b.db.InTx(store.AllTenants(context.Background()), func(tx *store.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	}))
}

// studentNames lists the names of students.
func studentNames(list []*whitecross.Student) []string {
	out := []string{}
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

func testSearchStudentsPaging(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("Pupil %02d", i)
		if i%5 == 0 {
			name = fmt.Sprintf("pupil %02d", i) // case does not change the order
		}
		want = append(want, name)
		at := d.Lincoln
		if i%2 == 1 {
			at = d.Washington
		}
		require.NoError(t, b.st.CreateStudent(d.As(d.Admin), &whitecross.Student{Name: name, LocationID: at.ID, Grade: fmt.Sprint(i % 3)}))
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		page, err := b.st.SearchStudents(d.As(d.Admin), whitecross.StudentFilter{Query: "PUPIL", Limit: 7, Cursor: cursor})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Items), 7)
		got = append(got, studentNames(page.Items)...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Equal(t, want, got, "every student once, by name")

	page, err := b.st.SearchStudents(d.As(d.LincolnAdmin), whitecross.StudentFilter{Query: "pupil", Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Items, 13, "a school admin pages through their locations only")
	for _, s := range page.Items {
		require.Equal(t, d.Lincoln.ID, s.LocationID)
	}
	for _, f := range []struct {
		f     whitecross.StudentFilter
		field string
	}{
		{whitecross.StudentFilter{Limit: 101}, "query.limit"},
		{whitecross.StudentFilter{Cursor: "nope"}, "query.cursor"},
		{whitecross.StudentFilter{LocationID: "nope"}, "query.location_id"},
		{whitecross.StudentFilter{Grade: "12345678901234567"}, "query.grade"},
	} {
		_, err := b.st.SearchStudents(d.As(d.Admin), f.f)
		requireCode(t, err, whitecross.EINVALID, f.field)
	}
}

func testSearchStudentsFilters(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	kim := &whitecross.Student{Name: "Kim 50%_Kinder", LocationID: d.Annex.ID, Grade: "K"}
	require.NoError(t, b.st.CreateStudent(d.As(d.Admin), kim))
	search := func(u *whitecross.User, f whitecross.StudentFilter) []string {
		t.Helper()
		f.Limit = 100
		page, err := b.st.SearchStudents(d.As(u), f)
		require.NoError(t, err)
		return studentNames(page.Items)
	}
	require.Equal(t, []string{"Andy Annex-Student", "Kim 50%_Kinder", "Lily Lincoln-Student"}, search(d.Admin, whitecross.StudentFilter{LocationID: d.Lincoln.ID}),
		"a location includes its campuses")
	require.Equal(t, []string{"Andy Annex-Student", "Kim 50%_Kinder"}, search(d.Admin, whitecross.StudentFilter{LocationID: d.Annex.ID}))
	require.Equal(t, []string{"Kim 50%_Kinder"}, search(d.Admin, whitecross.StudentFilter{Grade: "K"}))
	require.Equal(t, []string{"Kim 50%_Kinder"}, search(d.Admin, whitecross.StudentFilter{Query: "50%_"}), "wildcards are plain text")
	require.Empty(t, search(d.Admin, whitecross.StudentFilter{Query: "5_"}))
	require.Empty(t, search(d.Admin, whitecross.StudentFilter{LocationID: other.Lincoln.ID}), "another district's location holds nobody")
	require.Empty(t, search(d.WashingtonAdmin, whitecross.StudentFilter{LocationID: d.Lincoln.ID}), "filters never widen the scope")
	require.Equal(t, []string{"Lily Lincoln-Student"}, search(d.LincolnParent, whitecross.StudentFilter{}))
	require.Empty(t, search(d.NonCustodialParent, whitecross.StudentFilter{}))

	// A deactivated student is listed for administrators when asked, as such.
	b.exec(t, `UPDATE students SET deactivated_at = $1 WHERE id = $2`, b.clock.Now(), d.AnnexStudent.ID)
	require.Equal(t, []string{"Kim 50%_Kinder", "Lily Lincoln-Student"}, search(d.LincolnAdmin, whitecross.StudentFilter{}))
	page, err := b.st.SearchStudents(d.As(d.LincolnAdmin), whitecross.StudentFilter{IncludeDeactivated: true})
	require.NoError(t, err)
	require.Equal(t, []string{"Andy Annex-Student", "Kim 50%_Kinder", "Lily Lincoln-Student"}, studentNames(page.Items))
	require.NotNil(t, page.Items[0].DeactivatedAt)
	require.Nil(t, page.Items[1].DeactivatedAt)
	got, err := b.st.FindStudentByID(d.As(d.LincolnAdmin), d.AnnexStudent.ID)
	require.NoError(t, err, "an administrator opens a deactivated student")
	require.NotNil(t, got.DeactivatedAt)
	_, err = b.st.FindStudentByID(d.As(d.AnnexStaff), d.AnnexStudent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.SearchStudents(d.As(d.LincolnNurse), whitecross.StudentFilter{IncludeDeactivated: true})
	requireCode(t, err, whitecross.EFORBIDDEN, "query.include_deactivated")
}

func testUpdateStudent(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	name, grade := " Lily L. Student ", "4"
	s, err := b.st.UpdateStudent(d.As(d.LincolnAdmin), d.LincolnStudent.ID, whitecross.StudentUpdate{Name: &name, Grade: &grade, LocationID: &d.Annex.ID})
	require.NoError(t, err)
	require.Equal(t, "Lily L. Student", s.Name)
	require.Equal(t, "4", s.Grade)
	require.Equal(t, d.Annex.ID, s.LocationID)
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditStudentUpdated, e.Action)
	require.Equal(t, d.LincolnStudent.ID, e.TargetID)
	require.Equal(t, "name,grade,location_id", e.Detail["fields"])
	require.NotContains(t, fmt.Sprint(e.Detail), "Lily", "no names in the audit")

	_, err = b.st.UpdateStudent(d.As(d.LincolnAdmin), d.LincolnStudent.ID, whitecross.StudentUpdate{LocationID: &d.Washington.ID})
	requireCode(t, err, whitecross.EFORBIDDEN, "body.location_id")
	_, err = b.st.UpdateStudent(d.As(d.WashingtonAdmin), d.LincolnStudent.ID, whitecross.StudentUpdate{Name: &name})
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.UpdateStudent(d.As(d.LincolnNurse), d.LincolnStudent.ID, whitecross.StudentUpdate{Name: &name})
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.UpdateStudent(d.As(d.LincolnParent), d.LincolnStudent.ID, whitecross.StudentUpdate{Name: &name})
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	bad, long, unknown := " ", "12345678901234567", uuid.NewString()
	for _, tc := range []struct {
		u     whitecross.StudentUpdate
		field string
	}{{whitecross.StudentUpdate{Name: &bad}, "body.name"}, {whitecross.StudentUpdate{Grade: &long}, "body.grade"},
		{whitecross.StudentUpdate{LocationID: &unknown}, "body.location_id"}} {
		_, err := b.st.UpdateStudent(d.As(d.Admin), d.LincolnStudent.ID, tc.u)
		requireCode(t, err, whitecross.EINVALID, tc.field)
	}
	got, err := b.st.FindStudentByID(d.As(d.Admin), d.LincolnStudent.ID)
	require.NoError(t, err)
	require.Equal(t, "Lily L. Student", got.Name, "refused changes change nothing")

	// The roster owns an imported student; a deactivated one is history.
	b.exec(t, `UPDATE students SET external_id = 'stu-9' WHERE id = $1`, d.WashingtonStudent.ID)
	_, err = b.st.UpdateStudent(d.As(d.Admin), d.WashingtonStudent.ID, whitecross.StudentUpdate{Grade: &grade})
	requireCode(t, err, whitecross.ECONFLICT, "")
	got, err = b.st.FindStudentByID(d.As(d.Admin), d.WashingtonStudent.ID)
	require.NoError(t, err)
	require.Equal(t, "stu-9", got.ExternalID)
	b.exec(t, `UPDATE students SET deactivated_at = $1 WHERE id = $2`, b.clock.Now(), d.AnnexStudent.ID)
	_, err = b.st.UpdateStudent(d.As(d.Admin), d.AnnexStudent.ID, whitecross.StudentUpdate{Grade: &grade})
	requireCode(t, err, whitecross.ECONFLICT, "")
}

func testStudentGuardians(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	ctx := d.As(d.LincolnAdmin)
	// The Annex parent gets a second child: Lily, with custody.
	s, err := b.st.SetGuardian(ctx, d.LincolnStudent.ID, whitecross.Guardianship{UserID: d.AnnexParent.ID, Custody: true})
	require.NoError(t, err)
	require.Contains(t, s.Guardians, whitecross.Guardianship{UserID: d.AnnexParent.ID, Custody: true})
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditGuardianSet, e.Action)
	require.Equal(t, map[string]string{"user_id": d.AnnexParent.ID, "custody": "true", "new": "true"}, e.Detail)
	_, err = b.st.FindStudentByID(d.As(d.AnnexParent), d.LincolnStudent.ID)
	require.NoError(t, err, "custody shows the child to the guardian")

	// Custody taken away: the parent no longer sees the child.
	_, err = b.st.SetGuardian(ctx, d.LincolnStudent.ID, whitecross.Guardianship{UserID: d.AnnexParent.ID, Custody: false})
	require.NoError(t, err)
	_, err = b.st.FindStudentByID(d.As(d.AnnexParent), d.LincolnStudent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	ok, err := b.st.FilterMessageable(d.As(d.LincolnNurse), []string{d.AnnexParent.ID})
	require.NoError(t, err)
	require.True(t, ok[d.AnnexParent.ID], "still reachable through Andy at the Annex")

	// Custody for a non-custodial contact here is the district's decision.
	_, err = b.st.SetGuardian(ctx, d.LincolnStudent.ID, whitecross.Guardianship{UserID: d.NonCustodialParent.ID, Custody: true})
	requireCode(t, err, whitecross.EFORBIDDEN, "body.custody")
	_, err = b.st.SetGuardian(d.As(d.Admin), d.LincolnStudent.ID, whitecross.Guardianship{UserID: d.NonCustodialParent.ID, Custody: true})
	require.NoError(t, err)
	require.Equal(t, d.NonCustodialParent.ID, lastAudit(t, b.st, d.Tenant.ID).Detail["overrides_non_custodial"])

	s, err = b.st.RemoveGuardian(ctx, d.LincolnStudent.ID, d.AnnexParent.ID)
	require.NoError(t, err)
	require.NotContains(t, s.Guardians, whitecross.Guardianship{UserID: d.AnnexParent.ID})
	require.Equal(t, whitecross.AuditGuardianRemoved, lastAudit(t, b.st, d.Tenant.ID).Action)
	_, err = b.st.RemoveGuardian(ctx, d.LincolnStudent.ID, d.AnnexParent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	// Scope: another school's student, another role, a nurse.
	_, err = b.st.SetGuardian(ctx, d.WashingtonStudent.ID, whitecross.Guardianship{UserID: d.LincolnParent.ID, Custody: true})
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.SetGuardian(d.As(d.WashingtonAdmin), d.WashingtonStudent.ID, whitecross.Guardianship{UserID: d.AnnexParent.ID, Custody: true})
	requireCode(t, err, whitecross.ENOTFOUND, "") // a guardian the school admin may not see
	_, err = b.st.SetGuardian(ctx, d.LincolnStudent.ID, whitecross.Guardianship{UserID: d.LincolnNurse.ID, Custody: true})
	requireCode(t, err, whitecross.EINVALID, "path.user_id")
	_, err = b.st.SetGuardian(d.As(d.LincolnNurse), d.LincolnStudent.ID, whitecross.Guardianship{UserID: d.AnnexParent.ID, Custody: true})
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.RemoveGuardian(d.As(d.WashingtonAdmin), d.LincolnStudent.ID, d.LincolnParent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	// Links the roster made are the roster's; hand links on an imported student are not.
	b.exec(t, `UPDATE students SET external_id = 'stu-1' WHERE id = $1`, d.LincolnStudent.ID)
	b.exec(t, `UPDATE guardianships SET imported = TRUE WHERE student_id = $1 AND user_id = $2`, d.LincolnStudent.ID, d.LincolnParent.ID)
	_, err = b.st.SetGuardian(ctx, d.LincolnStudent.ID, whitecross.Guardianship{UserID: d.LincolnParent.ID, Custody: false})
	requireCode(t, err, whitecross.ECONFLICT, "")
	_, err = b.st.RemoveGuardian(ctx, d.LincolnStudent.ID, d.LincolnParent.ID)
	requireCode(t, err, whitecross.ECONFLICT, "")
	s, err = b.st.SetGuardian(ctx, d.LincolnStudent.ID, whitecross.Guardianship{UserID: d.AnnexParent.ID, Custody: true})
	require.NoError(t, err)
	require.Contains(t, s.Guardians, whitecross.Guardianship{UserID: d.LincolnParent.ID, Custody: true, Imported: true})
	require.Contains(t, s.Guardians, whitecross.Guardianship{UserID: d.AnnexParent.ID, Custody: true})
}

func testUpdateGroup(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	g := &whitecross.Group{Name: "Lincoln team", MemberIDs: []string{d.LincolnNurse.ID, d.LincolnStaff.ID}}
	require.NoError(t, b.st.CreateGroup(d.As(d.LincolnAdmin), g))
	name := " Lincoln health team "
	got, err := b.st.UpdateGroup(d.As(d.LincolnAdmin), g.ID, whitecross.GroupUpdate{Name: &name,
		MemberIDs: []string{d.LincolnNurse.ID, d.AnnexStaff.ID, d.LincolnParent.ID}})
	require.NoError(t, err)
	require.Equal(t, "Lincoln health team", got.Name)
	require.ElementsMatch(t, []string{d.LincolnNurse.ID, d.AnnexStaff.ID, d.LincolnParent.ID}, got.MemberIDs)
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditGroupUpdated, e.Action)
	require.Equal(t, map[string]string{"renamed": "true", "added": "2", "removed": "1"}, e.Detail)

	_, err = b.st.UpdateGroup(d.As(d.LincolnAdmin), g.ID, whitecross.GroupUpdate{MemberIDs: []string{d.LincolnNurse.ID, d.WashingtonNurse.ID}})
	requireCode(t, err, whitecross.EFORBIDDEN, "body.member_ids[1]")
	_, err = b.st.UpdateGroup(d.As(d.LincolnAdmin), g.ID, whitecross.GroupUpdate{MemberIDs: []string{uuid.NewString()}})
	requireCode(t, err, whitecross.EINVALID, "body.member_ids[0]")
	_, err = b.st.UpdateGroup(d.As(d.LincolnAdmin), g.ID, whitecross.GroupUpdate{MemberIDs: []string{}})
	requireCode(t, err, whitecross.EINVALID, "body.member_ids")
	bad := ""
	_, err = b.st.UpdateGroup(d.As(d.LincolnAdmin), g.ID, whitecross.GroupUpdate{Name: &bad})
	requireCode(t, err, whitecross.EINVALID, "body.name")
	_, err = b.st.UpdateGroup(d.As(d.LincolnNurse), g.ID, whitecross.GroupUpdate{Name: &name})
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.UpdateGroup(d.As(d.WashingtonAdmin), g.ID, whitecross.GroupUpdate{Name: &name})
	requireCode(t, err, whitecross.ENOTFOUND, "")
	requireCode(t, b.st.DeleteGroup(d.As(d.WashingtonAdmin), g.ID), whitecross.ENOTFOUND, "")
	requireCode(t, b.st.DeleteGroup(d.As(d.LincolnStaff), g.ID), whitecross.EFORBIDDEN, "")

	// A member the admin could no longer add may stay.
	b.exec(t, `DELETE FROM user_locations WHERE user_id = $1`, d.AnnexStaff.ID)
	got, err = b.st.UpdateGroup(d.As(d.LincolnAdmin), g.ID, whitecross.GroupUpdate{MemberIDs: []string{d.AnnexStaff.ID, d.LincolnNurse.ID}})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{d.AnnexStaff.ID, d.LincolnNurse.ID}, got.MemberIDs)

	require.NoError(t, b.st.DeleteGroup(d.As(d.LincolnAdmin), g.ID))
	require.Equal(t, whitecross.AuditGroupDeleted, lastAudit(t, b.st, d.Tenant.ID).Action)
	_, err = b.st.FindGroupByID(d.As(d.Admin), g.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	requireCode(t, b.st.DeleteGroup(d.As(d.Admin), g.ID), whitecross.ENOTFOUND, "")
}
