package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// exerciseTenantSettings is the conformance suite of a district's
// settings: reading them, changing them (ADMIN only, validated, audited)
// and the allowed channels enforced when a message is sent.
func exerciseTenantSettings(t *testing.T, open Opener) {
	runSubtests(t, open, []subtest{
		{"ReadAndUpdate", testTenantSettingsUpdate},
		{"AdminsOnly", testTenantSettingsAdminsOnly},
		{"Validation", testTenantSettingsValidation},
		{"AllowedChannelsAtSend", testTenantSettingsAllowedChannels},
	})
}

// fullSettings sets every policy.
func fullSettings() whitecross.TenantSettings {
	return whitecross.TenantSettings{
		DefaultLocale:   "es-MX",
		RetentionDays:   3650,
		AllowedChannels: []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS, whitecross.ChannelVoice},
		QuietHoursStart: "21:00", QuietHoursEnd: "07:00",
		Fallback: map[whitecross.Priority][]whitecross.Channel{
			whitecross.PriorityUrgent: {whitecross.ChannelSMS, whitecross.ChannelVoice, whitecross.ChannelEmail},
			whitecross.PriorityLow:    {}, // no fallback for LOW
		},
		EmergencyOverridesOptOut: true,
		SensitiveByDefault:       new(false),
		Presence:                 new(false),
	}
}

func testTenantSettingsUpdate(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	other := SeedDistrictSlug(t, b.st, "shelbyville")

	cur, err := b.st.CurrentTenant(d.As(d.LincolnParent))
	require.NoError(t, err, "any signed-in user reads their district")
	require.Equal(t, d.Tenant.ID, cur.ID)
	require.Equal(t, d.Tenant.Slug, cur.Slug)
	require.Equal(t, whitecross.TenantSettings{}, cur.Settings)
	require.True(t, cur.Settings.ShowsPresence(), "presence: unset is on")

	want := fullSettings()
	got, err := b.st.UpdateTenantSettings(d.As(d.Admin), want)
	require.NoError(t, err)
	require.Equal(t, d.Tenant.ID, got.ID)
	require.Equal(t, want, got.Settings)
	cur, err = b.st.CurrentTenant(d.As(d.LincolnStaff))
	require.NoError(t, err)
	require.Equal(t, want, cur.Settings, "stored")
	require.False(t, cur.Settings.ShowsPresence(), "presence turned off")
	require.Equal(t, []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelVoice, whitecross.ChannelEmail},
		cur.Settings.FallbackChain(whitecross.PriorityMedium, whitecross.CategoryEmergency), "EMERGENCY takes the district's URGENT chain")
	require.Empty(t, cur.Settings.FallbackChain(whitecross.PriorityLow, whitecross.CategoryGeneral), "an empty chain turns fallback off")
	require.Equal(t, whitecross.DefaultFallback[whitecross.PriorityHigh],
		cur.Settings.FallbackChain(whitecross.PriorityHigh, whitecross.CategoryGeneral), "a priority left out keeps the default")

	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditTenantSettingsUpdated, e.Action)
	require.Equal(t, d.Admin.ID, e.ActorID)
	require.Equal(t, "tenant", e.TargetType)
	require.Equal(t, d.Tenant.ID, e.TargetID)
	require.Equal(t, "allowed_channels,default_locale,emergency_overrides_opt_out,fallback,presence,quiet_hours_end,quiet_hours_start,retention_days,sensitive_by_default",
		e.Detail["changed"])

	// Replacing: what is left out returns to its default.
	got, err = b.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{RetentionDays: 30})
	require.NoError(t, err)
	require.Equal(t, whitecross.TenantSettings{RetentionDays: 30}, got.Settings)
	require.Equal(t, "allowed_channels,default_locale,emergency_overrides_opt_out,fallback,presence,quiet_hours_end,quiet_hours_start,retention_days,sensitive_by_default",
		lastAudit(t, b.st, d.Tenant.ID).Detail["changed"])
	_, err = b.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{RetentionDays: 30, DefaultLocale: "fr"})
	require.NoError(t, err)
	require.Equal(t, "default_locale", lastAudit(t, b.st, d.Tenant.ID).Detail["changed"])

	// Each district changes only its own.
	cur, err = b.st.CurrentTenant(other.As(other.LincolnParent))
	require.NoError(t, err)
	require.Equal(t, other.Tenant.ID, cur.ID)
	require.Equal(t, whitecross.TenantSettings{}, cur.Settings)
	_, err = b.st.UpdateTenantSettings(other.As(other.Admin), whitecross.TenantSettings{RetentionDays: 7})
	require.NoError(t, err)
	cur, err = b.st.CurrentTenant(d.As(d.Admin))
	require.NoError(t, err)
	require.Equal(t, whitecross.TenantSettings{RetentionDays: 30, DefaultLocale: "fr"}, cur.Settings)

	_, err = b.st.CurrentTenant(t.Context())
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
}

func testTenantSettingsAdminsOnly(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	events := len(auditEvents(t, b.st, d.Tenant.ID))
	for _, u := range []*whitecross.User{d.LincolnAdmin, d.DistrictNurse, d.LincolnStaff, d.LincolnParent} {
		_, err := b.st.UpdateTenantSettings(d.As(u), fullSettings())
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	cur, err := b.st.CurrentTenant(d.As(d.Admin))
	require.NoError(t, err)
	require.Equal(t, whitecross.TenantSettings{}, cur.Settings)
	require.Len(t, auditEvents(t, b.st, d.Tenant.ID), events)
}

func testTenantSettingsValidation(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	with := func(change func(s *whitecross.TenantSettings)) whitecross.TenantSettings {
		s := fullSettings()
		change(&s)
		return s
	}
	chain := func(cs ...whitecross.Channel) []whitecross.Channel { return cs }
	for _, tc := range []struct {
		name  string
		in    whitecross.TenantSettings
		field string
	}{
		{"locale", with(func(s *whitecross.TenantSettings) { s.DefaultLocale = "Spanish" }), "body.settings.default_locale"},
		{"negative retention", with(func(s *whitecross.TenantSettings) { s.RetentionDays = -1 }), "body.settings.retention_days"},
		{"retention over ten years", with(func(s *whitecross.TenantSettings) { s.RetentionDays = 3651 }), "body.settings.retention_days"},
		{"unknown channel", with(func(s *whitecross.TenantSettings) { s.AllowedChannels = chain("EMAIL", "FAX") }), "body.settings.allowed_channels[1]"},
		{"channel twice", with(func(s *whitecross.TenantSettings) { s.AllowedChannels = chain("SMS", "EMAIL", "SMS") }), "body.settings.allowed_channels[2]"},
		{"quiet hours not HH:MM", with(func(s *whitecross.TenantSettings) { s.QuietHoursStart = "9:00" }), "body.settings.quiet_hours_start"},
		{"quiet hours past midnight", with(func(s *whitecross.TenantSettings) { s.QuietHoursEnd = "24:00" }), "body.settings.quiet_hours_end"},
		{"quiet hours without end", with(func(s *whitecross.TenantSettings) { s.QuietHoursEnd = "" }), "body.settings.quiet_hours_end"},
		{"quiet hours without start", with(func(s *whitecross.TenantSettings) { s.QuietHoursStart = "" }), "body.settings.quiet_hours_start"},
		{"fallback key not a priority", with(func(s *whitecross.TenantSettings) { s.Fallback["CRITICAL"] = chain("SMS") }), "body.settings.fallback.CRITICAL"},
		{"fallback unknown channel", with(func(s *whitecross.TenantSettings) { s.Fallback[whitecross.PriorityUrgent] = chain("SMS", "PAGER") }), "body.settings.fallback.URGENT[1]"},
		{"fallback to IN_APP", with(func(s *whitecross.TenantSettings) { s.Fallback[whitecross.PriorityHigh] = chain("IN_APP") }), "body.settings.fallback.HIGH[0]"},
		{"fallback channel twice", with(func(s *whitecross.TenantSettings) {
			s.Fallback[whitecross.PriorityMedium] = chain("EMAIL", "PUSH", "EMAIL")
		}), "body.settings.fallback.MEDIUM[2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.st.UpdateTenantSettings(d.As(d.Admin), tc.in)
			requireCode(t, err, whitecross.EINVALID, tc.field)
		})
	}
	cur, err := b.st.CurrentTenant(d.As(d.Admin))
	require.NoError(t, err)
	require.Equal(t, whitecross.TenantSettings{}, cur.Settings, "a refused change stores nothing")

	// The same rules hold when a tenant is created.
	bad := &whitecross.Tenant{Slug: "ogdenville", Name: "Ogdenville",
		Settings: whitecross.TenantSettings{Fallback: map[whitecross.Priority][]whitecross.Channel{whitecross.PriorityUrgent: chain("IN_APP")}}}
	requireCode(t, b.st.CreateTenant(t.Context(), bad), whitecross.EINVALID, "body.settings.fallback.URGENT[0]")
}

func testTenantSettingsAllowedChannels(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	_, err := b.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{AllowedChannels: []whitecross.Channel{whitecross.ChannelEmail}})
	require.NoError(t, err)
	before := sendCounts(t, b.db)

	for _, tc := range []struct {
		channels []whitecross.Channel
		field    string
	}{
		{[]whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS}, "body.channels[1]"},
		{[]whitecross.Channel{whitecross.ChannelInApp, whitecross.ChannelPush}, "body.channels[1]"},
		{[]whitecross.Channel{whitecross.ChannelVoice}, "body.channels[0]"},
	} {
		in := msg("Not allowed", d.LincolnParent)
		in.Channels = tc.channels
		_, err := b.st.SendMessage(d.As(d.LincolnNurse), in)
		requireCode(t, err, whitecross.EINVALID, tc.field)
	}
	require.Equal(t, before, sendCounts(t, b.db), "a refused send stores nothing")

	in := msg("Allowed", d.LincolnParent)
	in.Channels = []whitecross.Channel{whitecross.ChannelInApp, whitecross.ChannelEmail}
	m := b.send(t, d.LincolnNurse, in)
	require.Equal(t, []whitecross.Channel{whitecross.ChannelInApp, whitecross.ChannelEmail}, m.Channels)
	b.send(t, d.LincolnNurse, msg("In the app only", d.LincolnParent))

	// Another district's policy is its own.
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	in = msg("Other district", other.LincolnParent)
	in.Channels = []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelVoice}
	_, err = b.st.SendMessage(other.As(other.LincolnNurse), in)
	require.NoError(t, err)

	// Clearing the list allows every channel again.
	_, err = b.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{})
	require.NoError(t, err)
	in = msg("All channels", d.LincolnParent)
	in.Channels = whitecross.Channels
	b.send(t, d.LincolnNurse, in)
}
