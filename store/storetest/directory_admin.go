package storetest

// The administrators' side of the directory: the People page's listing of
// the users one administers (deactivated ones too), reactivation, and the
// renaming of locations.

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// listAllAdministered follows every page of ListAdministeredUsers.
func listAllAdministered(t *testing.T, st *store.Store, ctx context.Context, f whitecross.UserFilter) []*whitecross.User {
	t.Helper()
	return allPages(t, f.Limit, func() ([]*whitecross.User, string, error) {
		page, err := st.ListAdministeredUsers(ctx, f)
		if err != nil {
			return nil, "", err
		}
		f.Cursor = page.NextCursor
		return page.Items, page.NextCursor, nil
	})
}

// testListAdministeredUsers: an ADMIN lists the whole district, deactivated
// people included; a SCHOOL_ADMIN only the people of their school (and its
// campus) and its students' guardians; the filters, status and pages work
// within that; nobody else may list; another district's people never show.
func testListAdministeredUsers(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	labels := func(ctx context.Context, f whitecross.UserFilter) []string {
		t.Helper()
		return d.labels(listAllAdministered(t, b.st, ctx, f))
	}

	all := labels(d.As(d.Admin), whitecross.UserFilter{Limit: 2})
	require.Equal(t, d.labels(d.Users()), all, "every user of the district, FormerStaff too, no other district's")
	require.Equal(t, all, labels(d.System(), whitecross.UserFilter{}))

	lincoln := []string{"AnnexParent", "AnnexStaff", "FormerStaff", "LincolnAdmin", "LincolnNurse", "LincolnParent", "LincolnStaff", "NonCustodialParent"}
	require.Equal(t, lincoln, labels(d.As(d.LincolnAdmin), whitecross.UserFilter{Limit: 3}),
		"their school and campus, and its guardians; not the district office, Washington or the ADMIN")
	require.Equal(t, []string{"FormerStaff"}, labels(d.As(d.LincolnAdmin), whitecross.UserFilter{Status: whitecross.UserDeactivated}))
	require.NotContains(t, labels(d.As(d.LincolnAdmin), whitecross.UserFilter{Status: whitecross.UserActive}), "FormerStaff")
	require.Equal(t, []string{"FormerStaff"}, labels(d.As(d.LincolnAdmin), whitecross.UserFilter{Query: "FORMER"}))
	require.Equal(t, []string{"AnnexParent", "AnnexStaff"}, labels(d.As(d.LincolnAdmin), whitecross.UserFilter{LocationID: d.Annex.ID}))
	require.Equal(t, []string{"LincolnNurse"}, labels(d.As(d.LincolnAdmin), whitecross.UserFilter{Role: whitecross.RoleNurse}))
	require.Empty(t, labels(d.As(d.LincolnAdmin), whitecross.UserFilter{LocationID: d.Washington.ID}), "a filter never widens the scope")
	require.Equal(t, []string{"WashingtonAdmin", "WashingtonNurse", "WashingtonParent"}, labels(d.As(d.WashingtonAdmin), whitecross.UserFilter{}))

	for _, u := range []*whitecross.User{d.LincolnNurse, d.LincolnStaff, d.LincolnParent, d.DistrictNurse} {
		_, err := b.st.ListAdministeredUsers(d.As(u), whitecross.UserFilter{})
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	_, err := b.st.ListAdministeredUsers(d.As(d.Admin), whitecross.UserFilter{Status: "GONE"})
	requireCode(t, err, whitecross.EINVALID, "query.status")
	_, err = b.st.ListAdministeredUsers(d.As(d.Admin), whitecross.UserFilter{Cursor: "junk"})
	requireCode(t, err, whitecross.EINVALID, "query.cursor")

	require.Empty(t, labels(other.As(other.Admin), whitecross.UserFilter{Query: "springfield.example"}), "another district's admin")
	// ListUsers ignores a status: messaging lists active people only.
	page, err := b.st.ListUsers(d.As(d.Admin), whitecross.UserFilter{Status: whitecross.UserDeactivated, Query: "former"})
	require.NoError(t, err)
	require.Empty(t, page.Items)
}

// testReactivateUser: whoever may deactivate a user may reactivate them;
// the user is reachable again, the act audited once.
func testReactivateUser(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	former := d.FormerStaff
	require.False(t, former.Active())

	for _, u := range []*whitecross.User{d.WashingtonAdmin, d.LincolnNurse, d.LincolnParent} {
		_, err := b.st.ReactivateUser(d.As(u), former.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}
	_, err := b.st.ReactivateUser(other.As(other.Admin), former.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.ReactivateUser(d.As(d.LincolnNurse), d.LincolnStaff.ID)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.ReactivateUser(d.As(d.LincolnAdmin), d.Admin.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	before := len(auditEvents(t, b.st, d.Tenant.ID))

	u, err := b.st.ReactivateUser(d.As(d.LincolnAdmin), former.ID)
	require.NoError(t, err)
	require.True(t, u.Active())
	require.Equal(t, []string{d.Lincoln.ID}, u.LocationIDs)
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditUserReactivated, e.Action)
	require.Equal(t, former.ID, e.TargetID)
	require.Equal(t, d.LincolnAdmin.ID, e.ActorID)

	found, err := b.st.FindUserByID(d.As(d.LincolnNurse), former.ID)
	require.NoError(t, err, "reachable again")
	require.Nil(t, found.DeactivatedAt)

	_, err = b.st.ReactivateUser(d.As(d.Admin), former.ID)
	require.NoError(t, err)
	require.Len(t, auditEvents(t, b.st, d.Tenant.ID), before+1, "reactivating an active user changes nothing")
}

// testRenameLocation: an ADMIN renames any location, a SCHOOL_ADMIN only
// theirs and those below; the rename is audited.
func testRenameLocation(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")

	l, err := b.st.RenameLocation(d.As(d.LincolnAdmin), d.Annex.ID, "  Lincoln North Campus ")
	require.NoError(t, err)
	require.Equal(t, "Lincoln North Campus", l.Name)
	require.Equal(t, d.Annex.ParentID, l.ParentID)
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditLocationRenamed, e.Action)
	require.Equal(t, d.Annex.ID, e.TargetID)
	stored, err := b.st.FindLocationByID(d.As(d.LincolnNurse), d.Annex.ID)
	require.NoError(t, err)
	require.Equal(t, "Lincoln North Campus", stored.Name)

	_, err = b.st.RenameLocation(d.As(d.LincolnAdmin), d.Lincoln.ID, "Lincoln Elementary School")
	require.NoError(t, err, "their own school")
	for _, loc := range []*whitecross.Location{d.Washington, d.District} {
		_, err = b.st.RenameLocation(d.As(d.LincolnAdmin), loc.ID, "Taken over")
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	_, err = b.st.RenameLocation(d.As(d.LincolnNurse), d.Lincoln.ID, "Nurse's school")
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.RenameLocation(other.As(other.Admin), d.Lincoln.ID, "Shelbyville's now")
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.RenameLocation(d.As(d.Admin), "nope", "X")
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.RenameLocation(d.As(d.Admin), d.Washington.ID, " ")
	requireCode(t, err, whitecross.EINVALID, "body.name")

	l, err = b.st.RenameLocation(d.As(d.Admin), d.Washington.ID, "Washington Middle School")
	require.NoError(t, err)
	require.Equal(t, "Washington Middle School", l.Name)
	before := len(auditEvents(t, b.st, d.Tenant.ID))
	_, err = b.st.RenameLocation(d.As(d.Admin), d.Washington.ID, "Washington Middle School")
	require.NoError(t, err)
	require.Len(t, auditEvents(t, b.st, d.Tenant.ID), before, "the same name changes nothing")
	unchanged, err := b.st.FindLocationByID(other.As(other.Admin), other.Lincoln.ID)
	require.NoError(t, err)
	require.Equal(t, "Lincoln Elementary", unchanged.Name, "another district's school of the same name")
}
