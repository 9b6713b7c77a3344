package whitecross

import (
	"context"
	"time"
)

// Tenant is one school district. Every other record belongs to exactly one.
type Tenant struct {
	ID        string         `json:"id"`
	Slug      string         `json:"slug"`
	Name      string         `json:"name"`
	Timezone  string         `json:"timezone"`
	Settings  TenantSettings `json:"settings"`
	CreatedAt time.Time      `json:"created_at"`
}

// TenantSettings are the district's policies. Zero values mean the defaults.
type TenantSettings struct {
	DefaultLocale   string    `json:"default_locale,omitempty"`
	RetentionDays   int       `json:"retention_days,omitempty"`
	AllowedChannels []Channel `json:"allowed_channels,omitempty"`
	QuietHoursStart string    `json:"quiet_hours_start,omitempty"` // "21:00" in the tenant timezone
	QuietHoursEnd   string    `json:"quiet_hours_end,omitempty"`   // "07:00"
	// Fallback is the channel fallback policy by priority; a priority it
	// leaves out uses DefaultFallback's chain.
	Fallback map[Priority][]Channel `json:"fallback,omitempty"`
	// EmergencyOverridesOptOut lets EMERGENCY messages text numbers that
	// texted STOP (off by default; see docs/providers.md for when the law
	// allows it). Twilio may still refuse them.
	EmergencyOverridesOptOut bool `json:"emergency_overrides_opt_out,omitempty"`
	// ApprovalThreshold, when above 0, holds a broadcast by anyone but an
	// ADMIN whose audience holds more people than this for an
	// administrator's approval (PENDING_APPROVAL).
	ApprovalThreshold int `json:"approval_threshold,omitempty"`
	// SensitiveByDefault makes health categories always sensitive (nil
	// means on; read it with HealthSensitiveByDefault). Off, a sender may
	// mark a health message not sensitive with "sensitive": false.
	SensitiveByDefault *bool `json:"sensitive_by_default,omitempty"`
	// Presence shows users which of the people they may message are
	// online (nil means on; read it with ShowsPresence). Off, the realtime
	// gateway does no presence work for the district and sends no presence
	// frames.
	Presence *bool `json:"presence,omitempty"`
	// IdleTimeoutMinutes ends a staff session unused this long (nil means
	// DefaultIdleTimeoutMinutes, 0 off; guardians never: see IdleTimeout).
	IdleTimeoutMinutes *int `json:"idle_timeout_minutes,omitempty"`
	// OIDC is single sign-on with the district's provider (nil: none).
	OIDC *OIDCSettings `json:"oidc,omitempty"`
	// MFARequiredRoles are the roles that must sign in with a second
	// factor: such a user without one gets a session that may only set
	// it up (Actor.MFASetupOnly).
	MFARequiredRoles []Role `json:"mfa_required_roles,omitempty"`
}

// ShowsPresence reports whether the district shows who is online
// (presence; unset means on).
func (s TenantSettings) ShowsPresence() bool { return s.Presence == nil || *s.Presence }

// MaxApprovalThreshold bounds TenantSettings.ApprovalThreshold.
const MaxApprovalThreshold = 10_000_000

// AuditTenantSettingsUpdated records a change of a district's settings
// (detail: which settings changed).
const AuditTenantSettingsUpdated = "tenant.settings.updated"

// TenantSettingsService reads and changes the caller's district policies.
type TenantSettingsService interface {
	// CurrentTenant returns the caller's tenant with its settings (any
	// signed-in user: the web app shows allowed channels).
	CurrentTenant(ctx context.Context) (*Tenant, error)
	// UpdateTenantSettings replaces the settings (ADMIN only, else
	// EFORBIDDEN); EINVALID naming a bad field; audited.
	UpdateTenantSettings(ctx context.Context, s TenantSettings) (*Tenant, error)
}

// Channel is a way a message reaches a person.
type Channel string

// Channels.
const (
	ChannelInApp Channel = "IN_APP"
	ChannelEmail Channel = "EMAIL"
	ChannelSMS   Channel = "SMS"
	ChannelPush  Channel = "PUSH"
	ChannelVoice Channel = "VOICE"
)

// TenantService manages tenants. Creating a tenant is a system operation
// (CLI); reading one by slug serves the login flow.
type TenantService interface {
	// CreateTenant validates and stores t, filling ID and CreatedAt.
	// EINVALID for a bad slug, name or timezone; ECONFLICT when the slug is taken.
	CreateTenant(ctx context.Context, t *Tenant) error
	// FindTenantBySlug returns ENOTFOUND when no tenant has that slug.
	FindTenantBySlug(ctx context.Context, slug string) (*Tenant, error)
	// FindTenantByID returns ENOTFOUND when no tenant has that id.
	FindTenantByID(ctx context.Context, id string) (*Tenant, error)
	// ListTenants returns every tenant, oldest first (operators only).
	ListTenants(ctx context.Context) ([]*Tenant, error)
}
