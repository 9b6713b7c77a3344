package api

import (
	"context"
	"time"

	"whitecross"
	"whitecross/wire"
)

// Tenant is the caller's district.
type Tenant struct {
	ID       string         `json:"id" format:"uuid"`
	Slug     string         `json:"slug"`
	Name     string         `json:"name"`
	Timezone string         `json:"timezone" doc:"IANA time zone of the district"`
	Settings TenantSettings `json:"settings"`
	// SendPolicy is served so that a client offers each role only what it
	// may send, from the table the server enforces (whitecross.SendPolicyFor).
	SendPolicy map[string]SendPolicy `json:"send_policy" doc:"What each role may send, by role (read-only): the rules the server enforces, a refusal being 403 naming body.category or body.priority"`
	CreatedAt  time.Time             `json:"created_at"`
}

// SendPolicy is what one role may send.
type SendPolicy struct {
	Categories []string `json:"categories" nullable:"false" doc:"Categories the role may send"`
	Priorities []string `json:"priorities" nullable:"false" doc:"Priorities the role may give, lowest first"`
	Audience   bool     `json:"audience" doc:"Whether the role may send to an audience (a broadcast): ADMIN the whole district, other staff within their locations"`
}

// TenantSettings are the district's policies; an empty value is the default.
type TenantSettings struct {
	DefaultLocale            string              `json:"default_locale" doc:"Language of users who set none (e.g. en, es-MX); empty: en"`
	RetentionDays            int                 `json:"retention_days" doc:"Days messages are kept; 0: kept"`
	AllowedChannels          []string            `json:"allowed_channels" nullable:"false" enum:"IN_APP,EMAIL,SMS,PUSH,VOICE" doc:"Channels messages may use; empty: all (IN_APP always)"`
	QuietHoursStart          string              `json:"quiet_hours_start" doc:"Start of quiet hours, HH:MM in the district's time zone; empty: none"`
	QuietHoursEnd            string              `json:"quiet_hours_end" doc:"End of quiet hours, HH:MM"`
	Fallback                 map[string][]string `json:"fallback" nullable:"false" doc:"Channel fallback by priority (LOW, MEDIUM, HIGH, URGENT): the channels tried in turn when a delivery fails for good; a priority left out uses the default policy, an empty list none"`
	EmergencyOverridesOptOut bool                `json:"emergency_overrides_opt_out" doc:"EMERGENCY messages still text numbers that replied STOP"`
	ApprovalThreshold        int                 `json:"approval_threshold" doc:"A broadcast by anyone but an ADMIN to more people than this waits for an administrator's approval (PENDING_APPROVAL); 0: off"`
	SensitiveByDefault       bool                `json:"sensitive_by_default" doc:"Health categories (MEDICATION, HEALTH_UPDATE, IMMUNIZATION, INCIDENT) are always sensitive; off, a sender may send one with sensitive false. Default true"`
	Presence                 bool                `json:"presence" doc:"Users see which of the people they may message are online (presence frames of GET /api/v1/ws); off, no presence is sent in the district. Default true"`
	IdleTimeoutMinutes       int                 `json:"idle_timeout_minutes" doc:"Automatic logoff: a session of staff (ADMIN, SCHOOL_ADMIN, NURSE, STAFF) unused this many minutes ends, and the web app warns a minute before and locks; 0: off. Guardians are not timed out. Default 30"`
	OIDC                     *OIDCSettings       `json:"oidc,omitempty" doc:"Single sign-on with the district's OpenID Connect provider; absent: none"`
	MFARequiredRoles         []string            `json:"mfa_required_roles" nullable:"false" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN" doc:"Roles that must sign in with two-step sign-in (TOTP): such a user without it gets a session that may only set it up; empty: none"`
}

// tenantSettingsPatch is the body of PATCH /tenant: a field left out keeps
// its value.
type tenantSettingsPatch struct {
	DefaultLocale            *string              `json:"default_locale,omitempty" maxLength:"35"`
	RetentionDays            *int                 `json:"retention_days,omitempty" minimum:"0" maximum:"3650"`
	AllowedChannels          *[]string            `json:"allowed_channels,omitempty" maxItems:"5" enum:"IN_APP,EMAIL,SMS,PUSH,VOICE"`
	QuietHoursStart          *string              `json:"quiet_hours_start,omitempty" maxLength:"5" doc:"HH:MM, or empty with quiet_hours_end"`
	QuietHoursEnd            *string              `json:"quiet_hours_end,omitempty" maxLength:"5"`
	Fallback                 *map[string][]string `json:"fallback,omitempty" maxProperties:"4" doc:"Replaces the whole fallback policy"`
	EmergencyOverridesOptOut *bool                `json:"emergency_overrides_opt_out,omitempty"`
	ApprovalThreshold        *int                 `json:"approval_threshold,omitempty" minimum:"0" maximum:"10000000"`
	SensitiveByDefault       *bool                `json:"sensitive_by_default,omitempty"`
	Presence                 *bool                `json:"presence,omitempty"`
	IdleTimeoutMinutes       *int                 `json:"idle_timeout_minutes,omitempty" minimum:"0" maximum:"720" doc:"0 (off) to 720"`
	OIDC                     *oidcPatch           `json:"oidc,omitempty" doc:"Replaces the SSO setting; an empty issuer removes it"`
	MFARequiredRoles         *[]string            `json:"mfa_required_roles,omitempty" maxItems:"5" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN" doc:"Replaces the list"`
}

type tenantOutput struct{ Body Tenant }

type updateTenantInput struct {
	Body struct {
		Settings tenantSettingsPatch `json:"settings"`
	}
}

func (s *Server) getTenant(ctx context.Context, _ *struct{}) (*tenantOutput, error) {
	t, err := s.deps.TenantSettings.CurrentTenant(ctx)
	if err != nil {
		return nil, err
	}
	return &tenantOutput{Body: tenantFrom(t)}, nil
}

// updateTenant applies the fields given over the current settings. Two
// admins saving at the same instant: the later save wins whole.
func (s *Server) updateTenant(ctx context.Context, in *updateTenantInput) (*tenantOutput, error) {
	cur, err := s.deps.TenantSettings.CurrentTenant(ctx)
	if err != nil {
		return nil, err
	}
	st, p := cur.Settings, in.Body.Settings
	if p.DefaultLocale != nil {
		st.DefaultLocale = *p.DefaultLocale
	}
	if p.RetentionDays != nil {
		st.RetentionDays = *p.RetentionDays
	}
	if p.AllowedChannels != nil {
		st.AllowedChannels = wire.ChannelsOf(*p.AllowedChannels)
	}
	if p.QuietHoursStart != nil {
		st.QuietHoursStart = *p.QuietHoursStart
	}
	if p.QuietHoursEnd != nil {
		st.QuietHoursEnd = *p.QuietHoursEnd
	}
	if p.Fallback != nil {
		st.Fallback = nil
		for priority, chain := range *p.Fallback {
			if st.Fallback == nil {
				st.Fallback = map[whitecross.Priority][]whitecross.Channel{}
			}
			st.Fallback[whitecross.Priority(priority)] = nonNil(wire.ChannelsOf(chain))
		}
	}
	if p.EmergencyOverridesOptOut != nil {
		st.EmergencyOverridesOptOut = *p.EmergencyOverridesOptOut
	}
	if p.ApprovalThreshold != nil {
		st.ApprovalThreshold = *p.ApprovalThreshold
	}
	if p.SensitiveByDefault != nil {
		st.SensitiveByDefault = p.SensitiveByDefault
	}
	if p.Presence != nil {
		st.Presence = p.Presence
	}
	if p.IdleTimeoutMinutes != nil {
		st.IdleTimeoutMinutes = p.IdleTimeoutMinutes
	}
	if p.OIDC != nil {
		st.OIDC = p.OIDC.apply(st.OIDC)
	}
	if p.MFARequiredRoles != nil {
		st.MFARequiredRoles = roleList(*p.MFARequiredRoles)
	}
	t, err := s.deps.TenantSettings.UpdateTenantSettings(ctx, st)
	if err != nil {
		return nil, err
	}
	return &tenantOutput{Body: tenantFrom(t)}, nil
}

func tenantFrom(t *whitecross.Tenant) Tenant {
	st := t.Settings
	out := Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Timezone: t.Timezone, CreatedAt: t.CreatedAt,
		Settings: TenantSettings{
			DefaultLocale: st.DefaultLocale, RetentionDays: st.RetentionDays, AllowedChannels: wire.ChannelNames(st.AllowedChannels),
			QuietHoursStart: st.QuietHoursStart, QuietHoursEnd: st.QuietHoursEnd,
			Fallback: map[string][]string{}, EmergencyOverridesOptOut: st.EmergencyOverridesOptOut,
			ApprovalThreshold:  st.ApprovalThreshold,
			SensitiveByDefault: st.HealthSensitiveByDefault(),
			Presence:           st.ShowsPresence(),
			IdleTimeoutMinutes: st.IdleTimeoutMinutesOrDefault(),
			OIDC:               oidcFrom(st.OIDC),
			MFARequiredRoles:   roleNames(st.MFARequiredRoles),
		},
		SendPolicy: sendPolicies()}
	for p, chain := range st.Fallback {
		out.Settings.Fallback[string(p)] = wire.ChannelNames(chain)
	}
	return out
}

// sendPolicies is the send policy of every role.
func sendPolicies() map[string]SendPolicy {
	out := make(map[string]SendPolicy, len(whitecross.Roles))
	for _, r := range whitecross.Roles {
		p := whitecross.SendPolicyFor(r)
		out[string(r)] = SendPolicy{Categories: enumNames(p.Categories()), Priorities: enumNames(p.Priorities()), Audience: p.Audience}
	}
	return out
}

// enumNames returns the names of enum values.
func enumNames[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
