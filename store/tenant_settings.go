package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"whitecross"
)

var _ whitecross.TenantSettingsService = (*Store)(nil)

// MaxRetentionDays is the longest retention a district may set (ten years).
const MaxRetentionDays = 3650

// CurrentTenant implements whitecross.TenantSettingsService: the caller's
// district with its settings, for any signed-in user. EUNAUTHORIZED without
// a caller.
func (s *Store) CurrentTenant(ctx context.Context) (*whitecross.Tenant, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.findTenant(ctx, s.db.Reader(), `id = $1`, a.TenantID)
}

// UpdateTenantSettings implements whitecross.TenantSettingsService: it
// replaces the caller's district settings after validTenantSettings
// (EINVALID naming the field, e.g. body.settings.fallback.URGENT[1]) and
// records tenant.settings.updated with the names of the settings that
// changed. ADMIN only (or the system); EFORBIDDEN for anyone else.
func (s *Store) UpdateTenantSettings(ctx context.Context, st whitecross.TenantSettings) (*whitecross.Tenant, error) {
	a, err := requireAdmin(ctx, "change the district's settings")
	if err != nil {
		return nil, err
	}
	if err := validTenantSettings(&st); err != nil {
		return nil, err
	}
	var t *whitecross.Tenant
	err = s.db.InTx(ctx, func(tx *Tx) error {
		old, err := s.findTenant(ctx, tx, `id = $1`, a.TenantID)
		if err != nil {
			return err
		}
		if err := s.sealOIDCSecret(ctx, tx, a.TenantID, st.OIDC); err != nil {
			return err
		}
		encoded, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encode tenant settings: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE tenants SET settings = $2 WHERE id = $1`, a.TenantID, string(encoded)); err != nil {
			return fmt.Errorf("update tenant settings: %w", err)
		}
		changed, err := changedSettings(old.Settings, st)
		if err != nil {
			return err
		}
		old.Settings = st
		t = old
		return s.auditTx(ctx, tx, whitecross.AuditTenantSettingsUpdated, "tenant", a.TenantID,
			map[string]string{"changed": strings.Join(changed, ",")})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// changedSettings names the JSON fields that differ between two settings,
// sorted, for the audit event (settings hold no personal data, but the
// names are enough to say what an admin did).
func changedSettings(before, after whitecross.TenantSettings) ([]string, error) {
	fields := func(st whitecross.TenantSettings) (map[string]json.RawMessage, error) {
		b, err := json.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("encode tenant settings: %w", err)
		}
		m := map[string]json.RawMessage{}
		return m, json.Unmarshal(b, &m)
	}
	b, err := fields(before)
	if err != nil {
		return nil, err
	}
	a, err := fields(after)
	if err != nil {
		return nil, err
	}
	var out []string
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// validTenantSettings checks every district policy (CreateTenant and
// UpdateTenantSettings), in the order of the JSON fields, so the first
// problem is always the same one:
//   - default_locale: a language tag like en or es-MX, or empty;
//   - retention_days: 0 (keep forever) to MaxRetentionDays;
//   - allowed_channels: channels, each at most once (empty: all);
//   - quiet_hours_start/_end: both "HH:MM" (24-hour) or both empty;
//   - idle_timeout_minutes: 0 (off) to whitecross.MaxIdleTimeoutMinutes;
//   - fallback: keys are priorities, values channels other than IN_APP,
//     each at most once per chain (an empty chain: no fallback);
//   - oidc: see validOIDC.
//   - mfa_required_roles: roles, each at most once.
//
// emergency_overrides_opt_out and sensitive_by_default are booleans with
// nothing to check.
//
// EINVALID naming the field, e.g. body.settings.fallback.URGENT[1].
func validTenantSettings(st *whitecross.TenantSettings) error {
	const prefix = "body.settings."
	if st.DefaultLocale != "" {
		if err := validLocale(prefix+"default_locale", st.DefaultLocale); err != nil {
			return err
		}
	}
	if st.RetentionDays < 0 || st.RetentionDays > MaxRetentionDays {
		return whitecross.FieldErrorf(whitecross.EINVALID, prefix+"retention_days", st.RetentionDays,
			"Retention must be 0 (keep messages) to %d days.", MaxRetentionDays)
	}
	if err := validChannelList(prefix+"allowed_channels", st.AllowedChannels, true); err != nil {
		return err
	}
	for _, q := range []struct{ field, value string }{{"quiet_hours_start", st.QuietHoursStart}, {"quiet_hours_end", st.QuietHoursEnd}} {
		if q.value != "" && !clockPattern.MatchString(q.value) {
			return whitecross.FieldErrorf(whitecross.EINVALID, prefix+q.field, q.value, "Quiet hours must be a 24-hour time like 21:00.")
		}
	}
	if (st.QuietHoursStart == "") != (st.QuietHoursEnd == "") {
		field := "quiet_hours_end"
		if st.QuietHoursStart == "" {
			field = "quiet_hours_start"
		}
		return whitecross.FieldErrorf(whitecross.EINVALID, prefix+field, nil, "Quiet hours need both a start and an end.")
	}
	if st.ApprovalThreshold < 0 || st.ApprovalThreshold > whitecross.MaxApprovalThreshold {
		return whitecross.FieldErrorf(whitecross.EINVALID, prefix+"approval_threshold", st.ApprovalThreshold,
			"The approval threshold is 0 (off) to %d people.", whitecross.MaxApprovalThreshold)
	}
	if m := st.IdleTimeoutMinutes; m != nil && (*m < 0 || *m > whitecross.MaxIdleTimeoutMinutes) {
		return whitecross.FieldErrorf(whitecross.EINVALID, prefix+"idle_timeout_minutes", *m,
			"The idle timeout is 0 (off) to %d minutes.", whitecross.MaxIdleTimeoutMinutes)
	}
	if err := validFallback(prefix+"fallback", st.Fallback); err != nil {
		return err
	}
	if err := validOIDC(prefix+"oidc", st.OIDC); err != nil {
		return err
	}
	return validMFARoles(prefix+"mfa_required_roles", st.MFARequiredRoles)
}

// validFallback checks a fallback policy: unknown priorities first (in
// sorted order), then each priority's chain in priority order.
func validFallback(field string, policy map[whitecross.Priority][]whitecross.Channel) error {
	var unknown []string
	for p := range policy {
		if !slices.Contains(whitecross.Priorities, p) {
			unknown = append(unknown, string(p))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return whitecross.FieldErrorf(whitecross.EINVALID, field+"."+unknown[0], unknown[0],
			"Fallback policies are keyed by priority: %s.", joinEnum(whitecross.Priorities))
	}
	for _, p := range whitecross.Priorities {
		if chain, ok := policy[p]; ok {
			if err := validChannelList(field+"."+string(p), chain, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// validChannelList checks a list of channels, each at most once; IN_APP is
// refused unless inApp (a fallback to IN_APP means nothing: every message
// is in the app already).
func validChannelList(field string, list []whitecross.Channel, inApp bool) error {
	for i, c := range list {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !slices.Contains(whitecross.Channels, c):
			return whitecross.FieldErrorf(whitecross.EINVALID, at, string(c), "Channel must be one of %s.", joinEnum(whitecross.Channels))
		case c == whitecross.ChannelInApp && !inApp:
			return whitecross.FieldErrorf(whitecross.EINVALID, at, string(c),
				"IN_APP cannot be a fallback: every message is in the app already. Use EMAIL, SMS, PUSH or VOICE.")
		case slices.Contains(list[:i], c):
			return whitecross.FieldErrorf(whitecross.EINVALID, at, string(c), "Channel %s is listed twice.", c)
		}
	}
	return nil
}
