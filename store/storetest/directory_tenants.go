package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
)

func testTenants(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	ctx := context.Background()

	first := &whitecross.Tenant{Slug: " springfield ", Name: "  Springfield Public Schools ",
		Settings: whitecross.TenantSettings{RetentionDays: 365, AllowedChannels: []whitecross.Channel{whitecross.ChannelEmail},
			QuietHoursStart: "21:00", QuietHoursEnd: "07:00", DefaultLocale: "es-MX"}}
	require.NoError(t, b.st.CreateTenant(ctx, first))
	require.NoError(t, uuid.Validate(first.ID))
	require.Equal(t, "springfield", first.Slug)
	require.Equal(t, "Springfield Public Schools", first.Name)
	require.Equal(t, "America/Chicago", first.Timezone, "default timezone")
	require.True(t, first.CreatedAt.Equal(b.clock.Now().Truncate(time.Microsecond)))

	b.clock.Advance(time.Second)
	second := &whitecross.Tenant{Slug: "shelbyville-2", Name: "Shelbyville", Timezone: "America/New_York"}
	require.NoError(t, b.st.CreateTenant(ctx, second))

	t.Run("find", func(t *testing.T) {
		got, err := b.st.FindTenantBySlug(ctx, "springfield")
		require.NoError(t, err)
		require.Equal(t, first.ID, got.ID)
		require.Equal(t, first.Settings, got.Settings)
		require.True(t, first.CreatedAt.Equal(got.CreatedAt))
		got, err = b.st.FindTenantBySlug(ctx, "Springfield")
		require.NoError(t, err, "slugs are looked up case-insensitively")
		require.Equal(t, first.ID, got.ID)
		got, err = b.st.FindTenantByID(ctx, second.ID)
		require.NoError(t, err)
		require.Equal(t, "America/New_York", got.Timezone)

		_, err = b.st.FindTenantBySlug(ctx, "ogdenville")
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.FindTenantBySlug(ctx, "")
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.FindTenantByID(ctx, uuid.NewString())
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.FindTenantByID(ctx, "not-a-uuid")
		requireCode(t, err, whitecross.ENOTFOUND, "")
	})

	t.Run("list oldest first", func(t *testing.T) {
		list, err := b.st.ListTenants(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, first.ID, list[0].ID)
		require.Equal(t, second.ID, list[1].ID)
	})

	t.Run("duplicate slug", func(t *testing.T) {
		err := b.st.CreateTenant(ctx, &whitecross.Tenant{Slug: "springfield", Name: "Another"})
		requireCode(t, err, whitecross.ECONFLICT, "")
		list, err := b.st.ListTenants(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2, "a refused tenant is not stored")
	})

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			in    whitecross.Tenant
			field string
		}{
			{"empty slug", whitecross.Tenant{Name: "X"}, "body.slug"},
			{"one character", whitecross.Tenant{Slug: "a", Name: "X"}, "body.slug"},
			{"upper case", whitecross.Tenant{Slug: "Springfield2", Name: "X"}, "body.slug"},
			{"leading hyphen", whitecross.Tenant{Slug: "-abc", Name: "X"}, "body.slug"},
			{"space", whitecross.Tenant{Slug: "ab c", Name: "X"}, "body.slug"},
			{"underscore", whitecross.Tenant{Slug: "ab_c", Name: "X"}, "body.slug"},
			{"64 characters", whitecross.Tenant{Slug: strings.Repeat("a", 64), Name: "X"}, "body.slug"},
			{"no name", whitecross.Tenant{Slug: "abc"}, "body.name"},
			{"blank name", whitecross.Tenant{Slug: "abc", Name: "   "}, "body.name"},
			{"long name", whitecross.Tenant{Slug: "abc", Name: strings.Repeat("n", 201)}, "body.name"},
			{"bad timezone", whitecross.Tenant{Slug: "abc", Name: "X", Timezone: "Mars/Olympus"}, "body.timezone"},
			{"local timezone", whitecross.Tenant{Slug: "abc", Name: "X", Timezone: "Local"}, "body.timezone"},
			{"negative retention", whitecross.Tenant{Slug: "abc", Name: "X", Settings: whitecross.TenantSettings{RetentionDays: -1}}, "body.settings.retention_days"},
			{"bad channel", whitecross.Tenant{Slug: "abc", Name: "X", Settings: whitecross.TenantSettings{AllowedChannels: []whitecross.Channel{"EMAIL", "FAX"}}}, "body.settings.allowed_channels[1]"},
			{"bad quiet hours", whitecross.Tenant{Slug: "abc", Name: "X", Settings: whitecross.TenantSettings{QuietHoursStart: "25:00", QuietHoursEnd: "07:00"}}, "body.settings.quiet_hours_start"},
			{"bad locale", whitecross.Tenant{Slug: "abc", Name: "X", Settings: whitecross.TenantSettings{DefaultLocale: "EN_us"}}, "body.settings.default_locale"},
		} {
			in := tc.in
			requireCode(t, b.st.CreateTenant(ctx, &in), whitecross.EINVALID, tc.field)
		}
		longest := &whitecross.Tenant{Slug: strings.Repeat("a", 63), Name: strings.Repeat("é", 200)}
		require.NoError(t, b.st.CreateTenant(ctx, longest), "63-character slug and 200-character name are allowed")
	})

	t.Run("audit opens the new tenant's chain", func(t *testing.T) {
		events := auditEvents(t, b.st, second.ID)
		require.Len(t, events, 1)
		e := events[0]
		require.Equal(t, int64(1), e.Seq)
		require.Equal(t, whitecross.AuditTenantCreated, e.Action)
		require.Equal(t, "", e.ActorID)
		require.Equal(t, second.ID, e.TargetID)
		require.Equal(t, second.ID, e.TenantID)
	})
}

func testLocations(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")

	t.Run("list puts parents first", func(t *testing.T) {
		list, err := b.st.ListLocations(d.As(d.LincolnParent))
		require.NoError(t, err, "any role may list locations")
		require.Len(t, list, 4)
		seen := map[string]bool{}
		for _, l := range list {
			require.Equal(t, d.Tenant.ID, l.TenantID)
			if l.ParentID != nil {
				require.True(t, seen[*l.ParentID], "%s listed before its parent", l.Name)
			}
			seen[l.ID] = true
		}
		require.Equal(t, d.District.ID, list[0].ID)
		require.Nil(t, list[0].ParentID)
	})

	t.Run("admin creates anywhere", func(t *testing.T) {
		ctx := d.As(d.Admin)
		root := &whitecross.Location{Name: " Second District Office ", Kind: whitecross.LocationDistrict}
		require.NoError(t, b.st.CreateLocation(ctx, root))
		require.Equal(t, "Second District Office", root.Name)
		require.Nil(t, root.ParentID)
		e := lastAudit(t, b.st, d.Tenant.ID)
		require.Equal(t, whitecross.AuditLocationCreated, e.Action)
		require.Equal(t, d.Admin.ID, e.ActorID)
		require.Equal(t, root.ID, e.TargetID)

		school := &whitecross.Location{Name: "Jefferson High", Kind: whitecross.LocationSchool, ParentID: &root.ID}
		require.NoError(t, b.st.CreateLocation(ctx, school))
		got, err := b.st.FindLocationByID(d.As(d.LincolnNurse), school.ID)
		require.NoError(t, err)
		require.Equal(t, root.ID, *got.ParentID)
		require.Equal(t, whitecross.LocationSchool, got.Kind)
	})

	t.Run("school admin creates only inside their scope", func(t *testing.T) {
		ctx := d.As(d.LincolnAdmin)
		portable := &whitecross.Location{Name: "Lincoln Portable", Kind: whitecross.LocationCampus, ParentID: &d.Lincoln.ID}
		require.NoError(t, b.st.CreateLocation(ctx, portable))
		deeper := &whitecross.Location{Name: "Annex Wing", Kind: whitecross.LocationCampus, ParentID: &d.Annex.ID}
		require.NoError(t, b.st.CreateLocation(ctx, deeper), "the annex is below Lincoln")

		err := b.st.CreateLocation(ctx, &whitecross.Location{Name: "X", Kind: whitecross.LocationCampus, ParentID: &d.Washington.ID})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.parent_id")
		err = b.st.CreateLocation(ctx, &whitecross.Location{Name: "X", Kind: whitecross.LocationSchool, ParentID: &d.District.ID})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.parent_id")
		err = b.st.CreateLocation(ctx, &whitecross.Location{Name: "X", Kind: whitecross.LocationDistrict})
		requireCode(t, err, whitecross.EFORBIDDEN, "")

		// The new campus is in the school admin's scope: they may staff it.
		_, err = b.st.CreateUser(ctx, &whitecross.UserCreate{Email: "portable@x.example", Name: "P", Role: whitecross.RoleNurse, LocationIDs: []string{portable.ID}})
		require.NoError(t, err)
	})

	t.Run("others may not create", func(t *testing.T) {
		for _, u := range []*whitecross.User{d.LincolnNurse, d.LincolnStaff, d.DistrictNurse, d.LincolnParent} {
			err := b.st.CreateLocation(d.As(u), &whitecross.Location{Name: "X", Kind: whitecross.LocationCampus, ParentID: &d.Lincoln.ID})
			requireCode(t, err, whitecross.EFORBIDDEN, "")
		}
	})

	t.Run("validation", func(t *testing.T) {
		ctx := d.As(d.Admin)
		bad := "not-a-uuid"
		random := uuid.NewString()
		for _, tc := range []struct {
			in    whitecross.Location
			field string
		}{
			{whitecross.Location{Kind: whitecross.LocationSchool, ParentID: &d.District.ID}, "body.name"},
			{whitecross.Location{Name: strings.Repeat("x", 201), Kind: whitecross.LocationSchool}, "body.name"},
			{whitecross.Location{Name: "X", Kind: "REGION"}, "body.kind"},
			{whitecross.Location{Name: "X"}, "body.kind"},
			{whitecross.Location{Name: "X", Kind: whitecross.LocationSchool, ParentID: &bad}, "body.parent_id"},
			{whitecross.Location{Name: "X", Kind: whitecross.LocationSchool, ParentID: &random}, "body.parent_id"},
			{whitecross.Location{Name: "X", Kind: whitecross.LocationSchool, ParentID: &other.District.ID}, "body.parent_id"},
		} {
			in := tc.in
			requireCode(t, b.st.CreateLocation(ctx, &in), whitecross.EINVALID, tc.field)
		}
	})

	t.Run("other tenant's location is not found", func(t *testing.T) {
		_, err := b.st.FindLocationByID(d.As(d.Admin), other.Lincoln.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.FindLocationByID(d.System(), other.Lincoln.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.FindLocationByID(d.As(d.Admin), "nope")
		requireCode(t, err, whitecross.ENOTFOUND, "")
		list, err := b.st.ListLocations(other.As(other.Admin))
		require.NoError(t, err)
		for _, l := range list {
			require.Equal(t, other.Tenant.ID, l.TenantID)
		}
	})
}
