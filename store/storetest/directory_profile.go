package storetest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// testUpdateProfile covers PATCH /api/v1/me's storage: a person changes
// their own name, phone, locale and time zone with the validation of
// UpdateUser, guardians included, audited as user.updated by themselves;
// nothing else about them and nobody else changes.
func testUpdateProfile(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	me := d.LincolnParent
	ctx := d.As(me)

	u, err := b.st.UpdateProfile(ctx, &whitecross.ProfileUpdate{Name: ptr(" Pat Renamed "), Phone: ptr("+15557654321"),
		Locale: ptr("es-MX"), Timezone: ptr("America/Denver")})
	require.NoError(t, err)
	require.Equal(t, me.ID, u.ID)
	require.Equal(t, "Pat Renamed", u.Name)
	require.Equal(t, "+15557654321", u.Phone)
	require.Equal(t, "es-MX", u.Locale)
	require.Equal(t, "America/Denver", u.Timezone)
	require.Equal(t, me.Email, u.Email)
	require.Equal(t, whitecross.RoleGuardian, u.Role)
	require.Contains(t, contactPoints(t, b.db, me.ID), "PHONE +15557654321")
	again, err := b.st.FindUserByID(ctx, me.ID)
	require.NoError(t, err)
	require.Equal(t, u.Name, again.Name, "stored")

	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditUserUpdated, e.Action)
	require.Equal(t, me.ID, e.ActorID)
	require.Equal(t, me.ID, e.TargetID)
	require.Equal(t, map[string]string{"fields": "locale,name,phone,timezone", "self": "true"}, e.Detail)

	t.Run("each field is optional; empty locale and zone are the defaults", func(t *testing.T) {
		u, err := b.st.UpdateProfile(ctx, &whitecross.ProfileUpdate{Locale: ptr(""), Timezone: ptr(""), Phone: ptr("")})
		require.NoError(t, err)
		require.Equal(t, "Pat Renamed", u.Name)
		require.Equal(t, "en", u.Locale)
		require.Equal(t, d.Tenant.Timezone, u.Timezone)
		require.Empty(t, u.Phone)
		require.NotContains(t, contactPoints(t, b.db, me.ID), "PHONE +15557654321")
		before := len(auditEvents(t, b.st, d.Tenant.ID))
		_, err = b.st.UpdateProfile(ctx, &whitecross.ProfileUpdate{})
		require.NoError(t, err)
		require.Len(t, auditEvents(t, b.st, d.Tenant.ID), before, "no change, no event")
	})

	t.Run("bad values name the field and change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			upd   whitecross.ProfileUpdate
			field string
		}{
			{whitecross.ProfileUpdate{Name: ptr("  ")}, "body.name"},
			{whitecross.ProfileUpdate{Name: ptr(strings.Repeat("é", whitecross.MaxNameLength+1))}, "body.name"},
			{whitecross.ProfileUpdate{Phone: ptr("555-1234")}, "body.phone"},
			{whitecross.ProfileUpdate{Locale: ptr("Spanish")}, "body.locale"},
			{whitecross.ProfileUpdate{Timezone: ptr("Mars/Olympus")}, "body.timezone"},
			{whitecross.ProfileUpdate{Name: ptr("Fine"), Timezone: ptr("Local")}, "body.timezone"},
		} {
			_, err := b.st.UpdateProfile(ctx, &tc.upd)
			requireCode(t, err, whitecross.EINVALID, tc.field)
		}
		u, err := b.st.FindUserByID(ctx, me.ID)
		require.NoError(t, err)
		require.Equal(t, "Pat Renamed", u.Name)
	})

	t.Run("only one's own profile, and only a person's", func(t *testing.T) {
		_, err := b.st.UpdateProfile(d.As(d.LincolnNurse), &whitecross.ProfileUpdate{Name: ptr("Nurse Renamed")})
		require.NoError(t, err)
		u, err := b.st.FindUserByID(ctx, me.ID)
		require.NoError(t, err)
		require.Equal(t, "Pat Renamed", u.Name, "the nurse renamed herself, not the caller before her")
		_, err = b.st.UpdateProfile(d.System(), &whitecross.ProfileUpdate{Name: ptr("x")})
		require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
	})
}
