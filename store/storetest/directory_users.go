package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

func testCreateUser(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	ctx := d.As(d.Admin)

	u, err := b.st.CreateUser(ctx, &whitecross.UserCreate{Email: "  Grace.Hopper@Example.ORG ", Name: " Grace Hopper ",
		Role: whitecross.RoleNurse, Phone: "+15551234567", LocationIDs: []string{d.Lincoln.ID, d.Annex.ID, d.Lincoln.ID}})
	require.NoError(t, err)
	require.NoError(t, uuid.Validate(u.ID))
	require.Equal(t, d.Tenant.ID, u.TenantID)
	require.Equal(t, "grace.hopper@example.org", u.Email)
	require.Equal(t, "Grace Hopper", u.Name)
	require.Equal(t, "en", u.Locale, "default locale")
	_, err = b.st.UpdateTenantSettings(other.As(other.Admin), whitecross.TenantSettings{DefaultLocale: "es"})
	require.NoError(t, err)
	spanish, err := b.st.CreateUser(other.As(other.Admin), &whitecross.UserCreate{Email: "maria@shelbyville.example",
		Name: "María", Role: whitecross.RoleGuardian})
	require.NoError(t, err)
	require.Equal(t, "es", spanish.Locale, "a user who gives no locale gets the district's default")
	require.Equal(t, "America/Chicago", u.Timezone, "default timezone is the tenant's")
	require.ElementsMatch(t, []string{d.Lincoln.ID, d.Annex.ID}, u.LocationIDs, "repeated locations are dropped")
	require.True(t, u.Active())

	got, err := b.st.FindUserByID(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, u.Email, got.Email)
	require.Equal(t, u.LocationIDs, got.LocationIDs)
	require.True(t, u.CreatedAt.Equal(got.CreatedAt))

	t.Run("the operator's first password is checked and hashed", func(t *testing.T) {
		require.Equal(t, "", passwordHash(t, b.db, u.ID), "an administrator's new user has no password")
		const pw = "lunchbox violin 47 harbor"
		in := whitecross.UserCreate{Email: "ops@x.example", Name: "Olive Operator", Role: whitecross.RoleAdmin, Password: pw}
		withPassword, err := b.st.CreateUser(d.System(), &in)
		require.NoError(t, err)
		hash := passwordHash(t, b.db, withPassword.ID)
		require.NotContains(t, hash, pw)
		require.True(t, verifies(hash, pw))
		long := strings.Repeat("lunchbox violin 47 harbor ", 5)[:128]
		for i, tc := range []struct{ pw, problem string }{
			{"lunchbox 47", "12 to 128"}, {long + "x", "12 to 128"},
			{"password1234", "too easy"}, {"Olive Operator", "email address or name"},
		} {
			in := whitecross.UserCreate{Email: fmt.Sprintf("ops%d@x.example", i), Name: "Olive Operator", Role: whitecross.RoleAdmin, Password: tc.pw}
			_, err := b.st.CreateUser(d.System(), &in)
			requireCode(t, err, whitecross.EINVALID, "body.password")
			require.ErrorContains(t, err, tc.problem)
			var e *whitecross.Error
			require.ErrorAs(t, err, &e)
			require.Nil(t, e.Value, "a password is never echoed")
		}
		in = whitecross.UserCreate{Email: "ops-long@x.example", Name: "Olive Operator", Role: whitecross.RoleAdmin, Password: long}
		_, err = b.st.CreateUser(d.System(), &in)
		require.NoError(t, err, "128 characters are the limit")
	})

	t.Run("contact points follow email and phone", func(t *testing.T) {
		require.Equal(t, []string{"EMAIL grace.hopper@example.org", "PHONE +15551234567"}, contactPoints(t, b.db, u.ID))
	})

	t.Run("audit", func(t *testing.T) {
		e := lastAudit(t, b.st, d.Tenant.ID)
		for _, ev := range auditEvents(t, b.st, d.Tenant.ID) {
			if ev.TargetID == u.ID {
				e = ev
			}
		}
		require.Equal(t, whitecross.AuditUserCreated, e.Action)
		require.Equal(t, d.Admin.ID, e.ActorID)
		require.Equal(t, "192.0.2.1", e.ClientIP)
		require.NotContains(t, strings.Join(mapValues(e.Detail), " "), "grace", "no personal data in audit detail")
	})

	t.Run("duplicate email", func(t *testing.T) {
		_, err := b.st.CreateUser(ctx, &whitecross.UserCreate{Email: "GRACE.hopper@example.org", Name: "G2", Role: whitecross.RoleGuardian})
		requireCode(t, err, whitecross.ECONFLICT, "")
		require.Equal(t, "A user with this email already exists.", whitecross.ErrorMessage(err))
		// The same address in another district is another person.
		_, err = b.st.CreateUser(other.As(other.Admin), &whitecross.UserCreate{Email: "grace.hopper@example.org", Name: "G3", Role: whitecross.RoleGuardian})
		require.NoError(t, err)
	})

	t.Run("validation names the field", func(t *testing.T) {
		valid := whitecross.UserCreate{Email: "v@x.example", Name: "V", Role: whitecross.RoleStaff, LocationIDs: []string{d.Lincoln.ID}}
		for _, tc := range []struct {
			name  string
			edit  func(in *whitecross.UserCreate)
			field string
		}{
			{"no email", func(in *whitecross.UserCreate) { in.Email = "" }, "body.email"},
			{"no at", func(in *whitecross.UserCreate) { in.Email = "vx.example" }, "body.email"},
			{"two ats", func(in *whitecross.UserCreate) { in.Email = "v@x@x.example" }, "body.email"},
			{"space", func(in *whitecross.UserCreate) { in.Email = "v w@x.example" }, "body.email"},
			{"no domain", func(in *whitecross.UserCreate) { in.Email = "v@" }, "body.email"},
			{"long email", func(in *whitecross.UserCreate) { in.Email = strings.Repeat("v", 250) + "@x.example" }, "body.email"},
			{"no name", func(in *whitecross.UserCreate) { in.Name = "  " }, "body.name"},
			{"long name", func(in *whitecross.UserCreate) { in.Name = strings.Repeat("n", 201) }, "body.name"},
			{"control in name", func(in *whitecross.UserCreate) { in.Name = "a\nb" }, "body.name"},
			{"bad role", func(in *whitecross.UserCreate) { in.Role = "BOSS" }, "body.role"},
			{"no role", func(in *whitecross.UserCreate) { in.Role = "" }, "body.role"},
			{"phone without plus", func(in *whitecross.UserCreate) { in.Phone = "15551234567" }, "body.phone"},
			{"phone starting with 0", func(in *whitecross.UserCreate) { in.Phone = "+05551234567" }, "body.phone"},
			{"phone too long", func(in *whitecross.UserCreate) { in.Phone = "+1234567890123456" }, "body.phone"},
			{"bad locale", func(in *whitecross.UserCreate) { in.Locale = "EN_us" }, "body.locale"},
			{"bad timezone", func(in *whitecross.UserCreate) { in.Timezone = "Mars/Olympus" }, "body.timezone"},
			{"malformed location", func(in *whitecross.UserCreate) { in.LocationIDs = []string{"nope"} }, "body.location_ids[0]"},
			{"unknown location", func(in *whitecross.UserCreate) { in.LocationIDs = []string{d.Lincoln.ID, uuid.NewString()} }, "body.location_ids[1]"},
			{"other tenant's location", func(in *whitecross.UserCreate) { in.LocationIDs = []string{other.Lincoln.ID} }, "body.location_ids[0]"},
			{"staff without location", func(in *whitecross.UserCreate) { in.LocationIDs = nil }, "body.location_ids"},
			{"school admin without location", func(in *whitecross.UserCreate) { in.Role, in.LocationIDs = whitecross.RoleSchoolAdmin, nil }, "body.location_ids"},
		} {
			in := valid
			tc.edit(&in)
			_, err := b.st.CreateUser(ctx, &in)
			requireCode(t, err, whitecross.EINVALID, tc.field)
			var e *whitecross.Error
			require.ErrorAs(t, err, &e)
			if tc.field == "body.email" || tc.field == "body.name" || tc.field == "body.phone" {
				require.Nil(t, e.Value, "%s: personal data is not echoed", tc.name)
			}
		}
		// Roles that need no location, and the limits themselves.
		for i, in := range []whitecross.UserCreate{
			{Email: "g@x.example", Name: "G", Role: whitecross.RoleGuardian},
			{Email: "a@x.example", Name: "A", Role: whitecross.RoleAdmin},
			{Email: "p@x.example", Name: strings.Repeat("ñ", 200), Role: whitecross.RoleGuardian,
				Phone: "+123456789012345", Locale: "es-MX", Timezone: "Europe/Paris"},
		} {
			_, err := b.st.CreateUser(ctx, &in)
			require.NoError(t, err, "case %d", i)
		}
	})
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func testCreateUserBySchoolAdmin(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	ctx := d.As(d.LincolnAdmin)

	for _, role := range []whitecross.Role{whitecross.RoleSchoolAdmin, whitecross.RoleNurse, whitecross.RoleStaff} {
		_, err := b.st.CreateUser(ctx, &whitecross.UserCreate{Email: string(role) + "@x.example", Name: "N", Role: role, LocationIDs: []string{d.Annex.ID}})
		require.NoError(t, err, role)
	}
	_, err := b.st.CreateUser(ctx, &whitecross.UserCreate{Email: "parent@x.example", Name: "P", Role: whitecross.RoleGuardian})
	require.NoError(t, err, "a guardian needs no location")

	_, err = b.st.CreateUser(ctx, &whitecross.UserCreate{Email: "boss@x.example", Name: "B", Role: whitecross.RoleAdmin})
	requireCode(t, err, whitecross.EFORBIDDEN, "body.role")
	_, err = b.st.CreateUser(ctx, &whitecross.UserCreate{Email: "w@x.example", Name: "W", Role: whitecross.RoleNurse, LocationIDs: []string{d.Lincoln.ID, d.Washington.ID}})
	requireCode(t, err, whitecross.EFORBIDDEN, "body.location_ids[1]")
	_, err = b.st.CreateUser(ctx, &whitecross.UserCreate{Email: "w@x.example", Name: "W", Role: whitecross.RoleNurse, LocationIDs: []string{d.District.ID}})
	requireCode(t, err, whitecross.EFORBIDDEN, "body.location_ids[0]")

	for _, u := range []*whitecross.User{d.LincolnNurse, d.LincolnStaff, d.DistrictNurse, d.LincolnParent} {
		_, err := b.st.CreateUser(d.As(u), &whitecross.UserCreate{Email: "x@x.example", Name: "X", Role: whitecross.RoleGuardian})
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	_, err = b.st.FindUserByID(d.As(d.Admin), "")
	requireCode(t, err, whitecross.ENOTFOUND, "")
}

func testUpdateUser(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	ctx := d.As(d.Admin)
	target := d.LincolnNurse
	before := len(auditEvents(t, b.st, d.Tenant.ID))

	t.Run("no change records nothing", func(t *testing.T) {
		u, err := b.st.UpdateUser(ctx, target.ID, &whitecross.UserUpdate{Name: ptr(target.Name), LocationIDs: &[]string{d.Lincoln.ID}})
		require.NoError(t, err)
		require.True(t, u.UpdatedAt.Equal(target.UpdatedAt))
		require.Len(t, auditEvents(t, b.st, d.Tenant.ID), before)
	})

	t.Run("fields change and are audited by name", func(t *testing.T) {
		b.clock.Advance(time.Hour)
		u, err := b.st.UpdateUser(ctx, target.ID, &whitecross.UserUpdate{Name: ptr(" Nora Renamed "), Phone: ptr("+15557654321"),
			Locale: ptr("es"), Timezone: ptr("America/Denver"), LocationIDs: &[]string{d.Annex.ID, d.Washington.ID}})
		require.NoError(t, err)
		require.Equal(t, "Nora Renamed", u.Name)
		require.Equal(t, "+15557654321", u.Phone)
		require.Equal(t, "es", u.Locale)
		require.Equal(t, "America/Denver", u.Timezone)
		require.ElementsMatch(t, []string{d.Annex.ID, d.Washington.ID}, u.LocationIDs)
		require.True(t, u.UpdatedAt.After(target.UpdatedAt))
		require.Equal(t, target.Email, u.Email)

		got, err := b.st.FindUserByID(ctx, target.ID)
		require.NoError(t, err)
		require.Equal(t, u.Name, got.Name)
		require.Equal(t, u.LocationIDs, got.LocationIDs)
		require.Equal(t, []string{"EMAIL " + target.Email, "PHONE +15557654321"}, contactPoints(t, b.db, target.ID))

		e := lastAudit(t, b.st, d.Tenant.ID)
		require.Equal(t, whitecross.AuditUserUpdated, e.Action)
		require.Equal(t, target.ID, e.TargetID)
		require.Equal(t, d.Admin.ID, e.ActorID)
		require.Equal(t, map[string]string{"fields": "locale,location_ids,name,phone,timezone"}, e.Detail)
	})

	t.Run("phone is replaced and removed", func(t *testing.T) {
		_, err := b.st.UpdateUser(ctx, target.ID, &whitecross.UserUpdate{Phone: ptr("+15550000000")})
		require.NoError(t, err)
		require.Equal(t, []string{"EMAIL " + target.Email, "PHONE +15550000000"}, contactPoints(t, b.db, target.ID))
		_, err = b.st.UpdateUser(ctx, target.ID, &whitecross.UserUpdate{Phone: ptr("")})
		require.NoError(t, err)
		require.Equal(t, []string{"EMAIL " + target.Email}, contactPoints(t, b.db, target.ID))
	})

	t.Run("empty locale and timezone return to defaults", func(t *testing.T) {
		u, err := b.st.UpdateUser(ctx, target.ID, &whitecross.UserUpdate{Locale: ptr(""), Timezone: ptr("")})
		require.NoError(t, err)
		require.Equal(t, "en", u.Locale)
		require.Equal(t, d.Tenant.Timezone, u.Timezone)
	})

	t.Run("role change checks locations", func(t *testing.T) {
		_, err := b.st.UpdateUser(ctx, d.LincolnParent.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleStaff)})
		requireCode(t, err, whitecross.EINVALID, "body.location_ids")
		u, err := b.st.UpdateUser(ctx, d.LincolnParent.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleStaff), LocationIDs: &[]string{d.Lincoln.ID}})
		require.NoError(t, err)
		require.Equal(t, whitecross.RoleStaff, u.Role)
	})

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			upd   whitecross.UserUpdate
			field string
		}{
			{whitecross.UserUpdate{Name: ptr("")}, "body.name"},
			{whitecross.UserUpdate{Role: ptr(whitecross.Role("nurse"))}, "body.role"},
			{whitecross.UserUpdate{Phone: ptr("555")}, "body.phone"},
			{whitecross.UserUpdate{Locale: ptr("english!")}, "body.locale"},
			{whitecross.UserUpdate{Timezone: ptr("Nowhere")}, "body.timezone"},
			{whitecross.UserUpdate{LocationIDs: &[]string{}}, "body.location_ids"},
			{whitecross.UserUpdate{LocationIDs: &[]string{d.Lincoln.ID, "x"}}, "body.location_ids[1]"},
		} {
			upd := tc.upd
			_, err := b.st.UpdateUser(ctx, d.LincolnStaff.ID, &upd)
			requireCode(t, err, whitecross.EINVALID, tc.field)
		}
		got, err := b.st.FindUserByID(ctx, d.LincolnStaff.ID)
		require.NoError(t, err)
		require.Equal(t, d.LincolnStaff.Name, got.Name, "a refused update changes nothing")
	})
}

func testUpdateUserPermissions(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	sa := d.As(d.LincolnAdmin)
	noop := &whitecross.UserUpdate{}

	// Who each caller administers; everyone else visible to them is EFORBIDDEN
	// and everyone else ENOTFOUND.
	administers := map[string][]string{
		"Admin":           {"Admin", "DistrictNurse", "LincolnAdmin", "LincolnNurse", "LincolnStaff", "FormerStaff", "AnnexStaff", "WashingtonAdmin", "WashingtonNurse", "LincolnParent", "NonCustodialParent", "AnnexParent", "WashingtonParent"},
		"LincolnAdmin":    {"LincolnAdmin", "LincolnNurse", "LincolnStaff", "FormerStaff", "AnnexStaff", "LincolnParent", "NonCustodialParent", "AnnexParent"},
		"WashingtonAdmin": {"WashingtonAdmin", "WashingtonNurse", "WashingtonParent"},
	}
	for _, c := range d.Users() {
		if !c.Active() {
			continue
		}
		label := d.Labels[c.ID]
		visible := visibleTo(t, d, c)
		for _, target := range d.Users() {
			_, err := b.st.UpdateUser(d.As(c), target.ID, noop)
			switch {
			case contains(administers[label], d.Labels[target.ID]):
				require.NoError(t, err, "%s administers %s", label, d.Labels[target.ID])
			case visible[target.ID]:
				requireCode(t, err, whitecross.EFORBIDDEN, "")
			default:
				requireCode(t, err, whitecross.ENOTFOUND, "")
			}
		}
	}

	t.Run("school admin may not grant ADMIN", func(t *testing.T) {
		_, err := b.st.UpdateUser(sa, d.LincolnNurse.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleAdmin)})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.role")
		_, err = b.st.UpdateUser(sa, d.LincolnNurse.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleSchoolAdmin)})
		require.NoError(t, err)
	})

	t.Run("school admin moves users only inside their scope", func(t *testing.T) {
		_, err := b.st.UpdateUser(sa, d.LincolnStaff.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.Lincoln.ID, d.Washington.ID}})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.location_ids[1]")
		u, err := b.st.UpdateUser(sa, d.LincolnStaff.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.Annex.ID}})
		require.NoError(t, err)
		require.Equal(t, []string{d.Annex.ID}, u.LocationIDs)

		// A location the admin does not administer stays put.
		_, err = b.st.UpdateUser(d.As(d.Admin), d.LincolnStaff.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.Lincoln.ID, d.Washington.ID}})
		require.NoError(t, err)
		_, err = b.st.UpdateUser(sa, d.LincolnStaff.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.Lincoln.ID}})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.location_ids")
		u, err = b.st.UpdateUser(sa, d.LincolnStaff.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.Washington.ID, d.Annex.ID}})
		require.NoError(t, err)
		require.ElementsMatch(t, []string{d.Washington.ID, d.Annex.ID}, u.LocationIDs)
	})

	t.Run("system administers everyone", func(t *testing.T) {
		_, err := b.st.UpdateUser(d.System(), d.Admin.ID, &whitecross.UserUpdate{Name: ptr("Ada Renamed")})
		require.NoError(t, err)
		e := lastAudit(t, b.st, d.Tenant.ID)
		require.Equal(t, "", e.ActorID)
	})
}

// visibleTo returns the ids of the seeded users c may find.
func visibleTo(t *testing.T, d *District, c *whitecross.User) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, u := range d.Users() {
		_, err := d.Store.FindUserByID(d.As(c), u.ID)
		if err == nil {
			out[u.ID] = true
		} else {
			requireCode(t, err, whitecross.ENOTFOUND, "")
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func testDeactivateUser(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	ctx := context.Background()
	target := d.LincolnStaff

	// Two sessions: one live, one revoked long ago.
	live, old := uuid.NewString(), uuid.NewString()
	longAgo := b.clock.Now().Add(-24 * time.Hour).Truncate(time.Microsecond)
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id, tenant_id, user_id, created_at) VALUES ($1, $2, $3, $4)`,
			live, d.Tenant.ID, target.ID, longAgo); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id, tenant_id, user_id, created_at, revoked_at) VALUES ($1, $2, $3, $4, $4)`,
			old, d.Tenant.ID, target.ID, longAgo)
		return err
	}))
	revokedAt := func(id string) *time.Time {
		var at *time.Time
		require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT revoked_at FROM sessions WHERE id = $1`, id).Scan(&at))
		return at
	}

	requireCode(t, b.st.DeactivateUser(d.As(d.LincolnNurse), target.ID), whitecross.EFORBIDDEN, "")
	requireCode(t, b.st.DeactivateUser(d.As(d.WashingtonAdmin), target.ID), whitecross.ENOTFOUND, "")
	requireCode(t, b.st.DeactivateUser(d.As(d.Admin), d.Admin.ID), whitecross.ECONFLICT, "")
	requireCode(t, b.st.DeactivateUser(d.As(d.Admin), "nope"), whitecross.ENOTFOUND, "")
	require.Nil(t, revokedAt(live))

	b.clock.Advance(time.Minute)
	now := b.clock.Now().Truncate(time.Microsecond)
	require.NoError(t, b.st.DeactivateUser(d.As(d.LincolnAdmin), target.ID))

	require.NotNil(t, revokedAt(live))
	require.True(t, revokedAt(live).Equal(now), "live session revoked now")
	require.True(t, revokedAt(old).Equal(longAgo), "an old revocation is kept")

	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditUserDeactivated, e.Action)
	require.Equal(t, target.ID, e.TargetID)
	require.Equal(t, d.LincolnAdmin.ID, e.ActorID)
	seq := e.Seq

	got, err := b.st.FindUserByID(d.As(d.LincolnAdmin), target.ID)
	require.NoError(t, err, "an administrator still finds a deactivated user")
	require.False(t, got.Active())
	require.True(t, got.DeactivatedAt.Equal(now))
	_, err = b.st.FindUserByID(d.As(d.LincolnNurse), target.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	ok, err := b.st.FilterMessageable(d.As(d.Admin), []string{target.ID})
	require.NoError(t, err)
	require.False(t, ok[target.ID])
	require.NotContains(t, d.labels(listAllUsers(t, b.st, d.As(d.Admin), whitecross.UserFilter{})), "LincolnStaff")

	require.NoError(t, b.st.DeactivateUser(d.As(d.Admin), target.ID), "deactivating twice is harmless")
	require.Equal(t, seq, lastAudit(t, b.st, d.Tenant.ID).Seq, "and records nothing")
}
