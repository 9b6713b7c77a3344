package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// insertAuthLocation adds a location row with raw SQL and returns its id.
func insertAuthLocation(t *testing.T, db *store.DB, tenant string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	execSQL(t, db, `INSERT INTO locations (id, tenant_id, name, kind, created_at) VALUES ($1, $2, 'School', 'SCHOOL', $3)`,
		id, tenant, db.Now().UTC())
	return id
}

func exerciseCredentials(t *testing.T, open Opener) {
	t.Run("FindCredentialsIgnoresCaseAndSpace", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		loc1, loc2 := insertAuthLocation(t, a.db, a.tenant), insertAuthLocation(t, a.db, a.tenant)
		for _, loc := range []string{loc2, loc1} {
			execSQL(t, a.db, `INSERT INTO user_locations (tenant_id, user_id, location_id) VALUES ($1, $2, $3)`, a.tenant, a.user, loc)
		}
		for _, email := range []string{"nurse@example.org", "  Nurse@Example.ORG\t", "NURSE@EXAMPLE.ORG"} {
			c, err := a.st.FindCredentials(ctx, a.tenant, email)
			require.NoError(t, err, "email %q", email)
			require.Equal(t, "fixture-hash:"+a.user, c.PasswordHash)
			u := c.User
			require.Equal(t, a.user, u.ID)
			require.Equal(t, a.tenant, u.TenantID)
			require.Equal(t, "nurse@example.org", u.Email)
			require.Equal(t, "Test User", u.Name)
			require.Equal(t, whitecross.RoleNurse, u.Role)
			require.True(t, u.Active())
			require.True(t, u.CreatedAt.Equal(a.clock.Now()), "created %v", u.CreatedAt)
			want := []string{loc1, loc2}
			slices.Sort(want)
			require.Equal(t, want, u.LocationIDs)
		}
	})

	t.Run("FindCredentialsOfDeactivatedUser", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		at := a.clock.Now().Add(time.Hour)
		execSQL(t, a.db, `UPDATE users SET deactivated_at = $2 WHERE id = $1`, a.user, at)
		c, err := a.st.FindCredentials(context.Background(), a.tenant, "nurse@example.org")
		require.NoError(t, err)
		require.False(t, c.User.Active())
		require.True(t, c.User.DeactivatedAt.Equal(at))
		require.NotNil(t, c.User.LocationIDs)
		require.Empty(t, c.User.LocationIDs)
	})

	t.Run("FindCredentialsIsTenantScoped", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		other := insertBareTenant(t, a.db)
		otherUser := insertAuthUser(t, a.db, other, "nurse@example.org")

		c, err := a.st.FindCredentials(ctx, other, "Nurse@example.org")
		require.NoError(t, err)
		require.Equal(t, otherUser, c.User.ID, "found the other tenant's namesake")

		empty := insertBareTenant(t, a.db)
		for _, tc := range []struct{ tenant, email string }{
			{empty, "nurse@example.org"},
			{a.tenant, "nobody@example.org"},
			{a.tenant, ""},
			{"not-a-uuid", "nurse@example.org"},
			{uuid.Must(uuid.NewV7()).String(), "nurse@example.org"},
		} {
			_, err := a.st.FindCredentials(ctx, tc.tenant, tc.email)
			require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "tenant %q email %q", tc.tenant, tc.email)
		}
	})
}
