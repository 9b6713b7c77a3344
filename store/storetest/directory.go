package storetest

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseDirectory is the conformance suite of the directory: tenants,
// locations, users, students, groups and who may message whom. Every subtest
// opens its own database.
func exerciseDirectory(t *testing.T, open Opener) {
	tests := []subtest{
		{"Tenants", testTenants},
		{"Locations", testLocations},
		{"CreateUser", testCreateUser},
		{"CreateUserBySchoolAdmin", testCreateUserBySchoolAdmin},
		{"UpdateUser", testUpdateUser},
		{"UpdateProfile", testUpdateProfile},
		{"UpdateUserPermissions", testUpdateUserPermissions},
		{"DeactivateUser", testDeactivateUser},
		{"WhoMayMessageWhom", testWhoMayMessageWhom},
		{"ReachThroughAncestors", testReachThroughAncestors},
		{"ReachProfiles", testReachProfiles},
		{"CrossTenant", testCrossTenant},
		{"ListUsersPagination", testListUsersPagination},
		{"ListUsersFilters", testListUsersFilters},
		{"ManyUsers", testManyUsers},
		{"Students", testStudents},
		{"Groups", testGroups},
		{"SearchStudentsPaging", testSearchStudentsPaging},
		{"SearchStudentsFilters", testSearchStudentsFilters},
		{"UpdateStudent", testUpdateStudent},
		{"StudentGuardians", testStudentGuardians},
		{"UpdateGroup", testUpdateGroup},
		{"Unauthenticated", testUnauthenticated},
		{"AdminsSetNoPassword", testAdminsSetNoPassword},
		{"GuardianStaffRoleChange", testGuardianStaffRoleChange},
		{"LinkGuardianVisibility", testLinkGuardianVisibility},
		{"CustodyNearNonCustodial", testCustodyNearNonCustodial},
		{"NonCustodialSeesNoStudent", testNonCustodialSeesNoStudent},
		{"PasswordChangeEndsSessions", testPasswordChangeEndsSessions},
		{"SessionActorCurrentRole", testSessionActorCurrentRole},
		{"ListAdministeredUsers", testListAdministeredUsers},
		{"ReactivateUser", testReactivateUser},
		{"RenameLocation", testRenameLocation},
	}
	runSubtests(t, open, tests)
}

// directoryBundle is what a directory test works with.
type directoryBundle struct {
	db    *store.DB
	st    *store.Store
	clock *Clock
}

func setupDirectory(t *testing.T, open Opener) *directoryBundle {
	t.Helper()
	db := open(t)
	clock := NewClock(time.Date(2026, 3, 2, 15, 4, 5, 123456000, time.UTC))
	db.Now = clock.Now
	return &directoryBundle{db: db, st: store.New(db, testHasher{}, nil), clock: clock}
}

// requireCode asserts err is a domain error with code and, when field is
// not "", that field.
func requireCode(t *testing.T, err error, code, field string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, whitecross.ErrorCode(err), "error: %v", err)
	if field != "" {
		var e *whitecross.Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, field, e.Field, "error: %v", err)
	}
}

// listAllUsers follows every page of ListUsers with the given page size.
func listAllUsers(t *testing.T, st *store.Store, ctx context.Context, f whitecross.UserFilter) []*whitecross.User {
	t.Helper()
	return allPages(t, f.Limit, func() ([]*whitecross.User, string, error) {
		page, err := st.ListUsers(ctx, f)
		if err != nil {
			return nil, "", err
		}
		f.Cursor = page.NextCursor
		return page.Items, page.NextCursor, nil
	})
}

// auditActions returns the actions of the tenant's audit events, in order.
func auditEvents(t *testing.T, st *store.Store, tenantID string) []*whitecross.AuditEvent {
	t.Helper()
	events, err := st.AuditEvents(context.Background(), tenantID, 0, 100000)
	require.NoError(t, err)
	return events
}

// lastAudit returns the newest audit event of the tenant.
func lastAudit(t *testing.T, st *store.Store, tenantID string) *whitecross.AuditEvent {
	t.Helper()
	events := auditEvents(t, st, tenantID)
	require.NotEmpty(t, events)
	return events[len(events)-1]
}

// labels names users by their District labels, sorted.
func (d *District) labels(users []*whitecross.User) []string {
	out := []string{}
	for _, u := range users {
		l, ok := d.Labels[u.ID]
		if !ok {
			l = "?" + u.ID
		}
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// contactPoints returns "KIND address" of the user's contact points, sorted.
func contactPoints(t *testing.T, db *store.DB, userID string) []string {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT kind, address FROM contact_points WHERE user_id = $1 ORDER BY kind, address`, userID)
	require.NoError(t, err)
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var kind, address string
		require.NoError(t, rows.Scan(&kind, &address))
		out = append(out, kind+" "+address)
	}
	require.NoError(t, rows.Err())
	return out
}

// passwordHash reads a user's stored password hash.
func passwordHash(t *testing.T, db *store.DB, userID string) string {
	t.Helper()
	var hash string
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&hash))
	return hash
}

func ptr[T any](v T) *T { return &v }

func testUnauthenticated(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	ctx := context.Background()
	_, err := b.st.ListUsers(ctx, whitecross.UserFilter{})
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.FilterMessageable(ctx, []string{"x"})
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.CreateUser(ctx, &whitecross.UserCreate{})
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.ListLocations(ctx)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.ListStudents(ctx)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.ListGroups(ctx)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
}
