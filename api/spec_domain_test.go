package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/store"
)

// The OpenAPI enums and limits are struct tags, which cannot name a Go
// constant. These tests link each one to the domain's list or constant, so
// that changing a role, category, channel or limit in the domain fails here
// until the tags follow.

// TestSpecEnumsFollowDomain compares every enum of the generated spec with
// the domain list it mirrors. The table is complete: an enum the spec gains
// must be added here, linked to its domain list.
func TestSpecEnumsFollowDomain(t *testing.T) {
	t.Parallel()
	roles, channels := names(whitecross.Roles...), names(whitecross.Channels...)
	categories, priorities := names(whitecross.Categories...), names(whitecross.Priorities...)
	formats, statuses := names(whitecross.BodyFormats...), names(whitecross.DeliveryStatuses...)
	kinds := names(whitecross.LocationKinds...)
	// What leaves the server goes on every channel but IN_APP (listed
	// first); query filters name channels in lower case (either case works).
	require.Equal(t, whitecross.ChannelInApp, whitecross.Channels[0])
	sent := names(whitecross.Channels[1:]...)
	want := map[string][]string{
		"CreateLocationInputBody.kind":               kinds,
		"Location.kind":                              kinds,
		"CreateUserInputBody.role":                   roles,
		"UpdateUserInputBody.role":                   roles,
		"User.role":                                  roles,
		"SignedIn.role":                              roles,
		"MessageSender.role":                         roles,
		"Audience.roles[]":                           roles,
		"Receipt.role":                               roles,
		"DeadLetter.channel":                         channels,
		"Delivery.channel":                           channels,
		"Disclosure.channel":                         channels,
		"Disclosure.kind":                            names(whitecross.DisclosureKinds...),
		"AuditItem.outcome":                          whitecross.AuditOutcomes,
		"Message.channels[]":                         channels,
		"SendMessageInputBody.channels[]":            channels,
		"TenantSettings.allowed_channels[]":          channels,
		"TenantSettingsPatch.allowed_channels[]":     channels,
		"TenantSettings.mfa_required_roles[]":        roles,
		"TenantSettingsPatch.mfa_required_roles[]":   roles,
		"OutboxItem.channel":                         sent,
		"DeadLetter.status":                          statuses,
		"DeadLetter.attempt_kind":                    names(whitecross.AttemptKinds...),
		"Delivery.attempt_kind":                      names(whitecross.AttemptKinds...),
		"Escalation.channels[]":                      sent,
		"Delivery.status":                            statuses,
		"DeliveryEvent.status":                       statuses,
		"Message.body_format":                        formats,
		"ReplyInputBody.body_format":                 formats,
		"SendMessageInputBody.body_format":           formats,
		"Message.category":                           categories,
		"SendMessageInputBody.category":              categories,
		"Message.priority":                           priorities,
		"SendMessageInputBody.priority":              priorities,
		"Message.status":                             names(whitecross.MessageStatuses...),
		"BroadcastReport.status":                     names(whitecross.MessageStatuses...),
		"Unreached.role":                             roles,
		"/api/v1/admin/deliveries get query:status":  lower(names(whitecross.DeliveryFailed, whitecross.DeliveryBounced)),
		"/api/v1/admin/deliveries get query:channel": lower(sent),
		"/api/v1/dev/outbox get query:channel":       lower(sent),
		// Not the domain's: the OAuth token type and the health answer.
		"TokenResponse.token_type": {"Bearer"},
		"Health.status":            {"ok"},
	}
	got := map[string][]string{}
	for key, v := range specKeywords(t, "enum") {
		for _, e := range v.([]any) {
			got[key] = append(got[key], e.(string))
		}
	}
	require.Equal(t, want, got)
}

// TestSpecLimitsFollowDomain compares each limit of the spec that the
// domain or the store enforces with the constant that sets it.
func TestSpecLimitsFollowDomain(t *testing.T) {
	t.Parallel()
	want := map[string]int{
		"SendMessageInputBody.subject maxLength":                              whitecross.MaxSubjectChars,
		"SendMessageInputBody.body maxLength":                                 whitecross.MaxBodyChars,
		"ReplyInputBody.body maxLength":                                       whitecross.MaxBodyChars,
		"SendMessageInputBody.attachments maxItems":                           whitecross.MaxAttachments,
		"SendMessageInputBody.recipient_ids maxItems":                         whitecross.MaxRecipientIDs,
		"SendMessageInputBody.group_ids maxItems":                             whitecross.MaxGroupIDs,
		"SendMessageInputBody.student_ids maxItems":                           whitecross.MaxStudentIDs,
		"SendMessageInputBody.channels maxItems":                              len(whitecross.Channels),
		"TenantSettingsPatch.allowed_channels maxItems":                       len(whitecross.Channels),
		"Attachment.url maxLength":                                            whitecross.MaxAttachmentURL,
		"Attachment.name maxLength":                                           whitecross.MaxAttachmentName,
		"/api/v1/messages post header:Idempotency-Key maxLength":              whitecross.MaxIdempotencyKey,
		"/api/v1/messages/{id}/replies post header:Idempotency-Key maxLength": whitecross.MaxIdempotencyKey,
		"ChangePasswordInputBody.new_password maxLength":                      whitecross.MaxPasswordLength,
		"CreateUserInputBody.password maxLength":                              whitecross.MaxPasswordLength,
		"UpdateUserInputBody.password maxLength":                              whitecross.MaxPasswordLength,
		"RetryInputBody.delivery_ids maxItems":                                store.MaxRetryDeliveries,
		"TenantSettingsPatch.retention_days maximum":                          store.MaxRetentionDays,
		"TenantSettingsPatch.idle_timeout_minutes maximum":                    whitecross.MaxIdleTimeoutMinutes,
		"UpdateMeInputBody.name maxLength":                                    whitecross.MaxNameLength,
		"Escalation.after_minutes maximum":                                    whitecross.MaxEscalationAfterMinutes,
		"Escalation.repeat maximum":                                           whitecross.MaxEscalationRepeat,
		"Escalation.channels maxItems":                                        len(whitecross.Channels) - 1,

		"CreateGroupInputBody.name maxLength":        whitecross.MaxNameLength,
		"CreateLocationInputBody.name maxLength":     whitecross.MaxNameLength,
		"RenameLocationInputBody.name maxLength":     whitecross.MaxNameLength,
		"CreateStudentInputBody.name maxLength":      whitecross.MaxNameLength,
		"CreateUserInputBody.name maxLength":         whitecross.MaxNameLength,
		"UpdateUserInputBody.name maxLength":         whitecross.MaxNameLength,
		"CreateStudentInputBody.grade maxLength":     whitecross.MaxGradeLength,
		"CreateStudentInputBody.guardians maxItems":  whitecross.MaxGuardians,
		"CreateGroupInputBody.member_ids maxItems":   whitecross.MaxGroupMembers,
		"CreateUserInputBody.email maxLength":        whitecross.MaxEmailLength,
		"LoginInputBody.email maxLength":             whitecross.MaxEmailLength,
		"CreateUserInputBody.location_ids maxItems":  whitecross.MaxUserLocations,
		"UpdateUserInputBody.location_ids maxItems":  whitecross.MaxUserLocations,
		"/api/v1/users get query:q maxLength":        whitecross.MaxQueryLength,
		"/api/v1/admin/users get query:q maxLength":  whitecross.MaxQueryLength,
		"/api/v1/students get query:q maxLength":     whitecross.MaxQueryLength,
		"/api/v1/students get query:grade maxLength": whitecross.MaxGradeLength,
		"UpdateStudentInputBody.name maxLength":      whitecross.MaxNameLength,
		"UpdateStudentInputBody.grade maxLength":     whitecross.MaxGradeLength,
		"UpdateGroupInputBody.name maxLength":        whitecross.MaxNameLength,
		"UpdateGroupInputBody.member_ids maxItems":   whitecross.MaxGroupMembers,
	}
	// Every keyset listing pages alike.
	for _, path := range []string{"/api/v1/users", "/api/v1/admin/users", "/api/v1/messages", "/api/v1/admin/deliveries", "/api/v1/admin/email-suppressions",
		"/api/v1/messages/{id}/acks", "/api/v1/students", "/api/v1/students/{id}/messages"} {
		want[path+" get query:limit maximum"] = whitecross.MaxPageLimit
		want[path+" get query:limit default"] = whitecross.DefaultPageLimit
	}
	got := map[string]int{}
	for _, kw := range []string{"maxLength", "maxItems", "maximum", "default"} {
		for key, v := range specKeywords(t, kw) {
			if n, ok := v.(float64); ok {
				got[key+" "+kw] = int(n)
			}
		}
	}
	for key, n := range want {
		require.Contains(t, got, key)
		require.Equal(t, n, got[key], key)
	}
}

// specKeywords returns the value of keyword wherever the generated spec has
// it, keyed by where: "Schema.property" ("[]" for the items of an array)
// or "path method in:name" for a parameter.
func specKeywords(t *testing.T, keyword string) map[string]any {
	t.Helper()
	raw, err := api.New(api.Config{}, api.Deps{}).OpenAPI()
	require.NoError(t, err)
	var spec any
	require.NoError(t, json.Unmarshal(raw, &spec))
	found := map[string]any{}
	var walk func(node any, at []string)
	walk = func(node any, at []string) {
		switch n := node.(type) {
		case map[string]any:
			if v, ok := n[keyword]; ok {
				found[specPlace(at)] = v
			}
			for k, v := range n {
				walk(v, append(at[:len(at):len(at)], k))
			}
		case []any:
			for i, v := range n {
				seg := fmt.Sprint(i)
				if p, ok := v.(map[string]any); ok && p["in"] != nil {
					seg = fmt.Sprintf("%s:%s", p["in"], p["name"])
				}
				walk(v, append(at[:len(at):len(at)], seg))
			}
		}
	}
	walk(spec, nil)
	return found
}

// specPlace names a place in the spec the way the tables above do.
func specPlace(at []string) string {
	s := strings.Join(at, "\x00")
	s = strings.TrimPrefix(s, "components\x00schemas\x00")
	s = strings.TrimPrefix(s, "paths\x00")
	s = strings.ReplaceAll(s, "\x00properties\x00", ".")
	s = strings.ReplaceAll(s, "\x00items", "[]")
	s = strings.ReplaceAll(s, "\x00parameters\x00", " ")
	s = strings.TrimSuffix(s, "\x00schema")
	return strings.ReplaceAll(s, "\x00", " ")
}

// names returns the wire names of a domain enum's values.
func names[T ~string](vs ...T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// lower returns the names in lower case, as query filters spell them.
func lower(ns []string) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strings.ToLower(n)
	}
	return out
}
