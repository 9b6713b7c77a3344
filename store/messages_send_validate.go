package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"whitecross"
)

// This file validates the shape of a message before anything is read or
// written. Subjects, bodies and attachment names are never echoed in errors:
// they may be PHI.

// maxScheduleAhead is how far ahead a message may be scheduled.
const maxScheduleAhead = "1 year"

// scheduleLimit returns the latest time a message may be scheduled for.
func scheduleLimit(now time.Time) time.Time { return now.AddDate(1, 0, 0) }

// draft is a validated message about to be stored.
type draft struct {
	subject, body string
	format        whitecross.BodyFormat
	category      whitecross.Category
	priority      whitecross.Priority
	channels      []whitecross.Channel
	attachments   []whitecross.Attachment
	sensitive     bool
	scheduledAt   *time.Time    // nil: send now
	audience      *audienceSpec // nil: no audience
	studentIDs    []string      // canonical, sorted: the students it is about
	// pendingApproval holds the broadcast for an administrator (set by
	// SendMessage from the district's approval_threshold).
	pendingApproval bool
}

// validateMessage checks everything of in that needs no database, applies
// the defaults and returns the draft, its sensitive flag not yet decided
// (that needs the district's settings: applySendPolicy). EINVALID naming
// the field.
func validateMessage(in *whitecross.MessageCreate, now time.Time) (*draft, error) {
	d := &draft{}
	var err error
	if d.subject, err = validSubject(in.Subject); err != nil {
		return nil, err
	}
	if d.body, err = validBody(in.Body); err != nil {
		return nil, err
	}
	if d.format, err = validBodyFormat(in.BodyFormat); err != nil {
		return nil, err
	}
	if d.category = in.Category; d.category == "" {
		d.category = whitecross.CategoryGeneral
	}
	if !slices.Contains(whitecross.Categories, d.category) {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.category", string(in.Category),
			"Category must be one of %s.", joinEnum(whitecross.Categories))
	}
	if d.priority = in.Priority; d.priority == "" {
		d.priority = whitecross.PriorityMedium
	}
	if !slices.Contains(whitecross.Priorities, d.priority) {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.priority", string(in.Priority),
			"Priority must be one of %s.", joinEnum(whitecross.Priorities))
	}
	if d.channels, err = validChannels(in.Channels); err != nil {
		return nil, err
	}
	if d.attachments, err = validAttachments(in.Attachments); err != nil {
		return nil, err
	}
	if len(in.RecipientIDs) > whitecross.MaxRecipientIDs {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.recipient_ids", len(in.RecipientIDs),
			"At most %d recipient ids per message; use groups for larger audiences.", whitecross.MaxRecipientIDs)
	}
	if len(in.GroupIDs) > whitecross.MaxGroupIDs {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.group_ids", len(in.GroupIDs),
			"At most %d groups per message.", whitecross.MaxGroupIDs)
	}
	if d.audience, err = validAudience(in.Audience); err != nil {
		return nil, err
	}
	if len(in.RecipientIDs) == 0 && len(in.GroupIDs) == 0 && d.audience == nil {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.recipient_ids", nil,
			"Give at least one recipient in recipient_ids, group_ids or audience.")
	}
	if in.ScheduledAt != nil {
		at := in.ScheduledAt.UTC().Truncate(time.Microsecond)
		if at.After(scheduleLimit(now)) {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.scheduled_at", at.Format(time.RFC3339),
				"A message can be scheduled at most %s ahead.", maxScheduleAhead)
		}
		if at.After(now) {
			d.scheduledAt = &at
		}
	}
	if err := validIdempotencyKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	return d, nil
}

// applySendPolicy checks that the caller may send d (whitecross.CheckSend:
// EFORBIDDEN naming body.category or body.priority), that the district
// allows every channel requested (EINVALID naming body.channels[i]), and
// decides d.sensitive from what the sender asked and the district's
// sensitive_by_default (TenantSettings.MessageSensitive). It runs after
// validateMessage, so a malformed request is 422 before a forbidden one is
// 403. The settings are read only when they matter: a request for IN_APP
// alone that does not ask a health message to be not sensitive reads
// nothing.
func applySendPolicy(ctx context.Context, q Querier, a *whitecross.Actor, d *draft, in *whitecross.MessageCreate) error {
	if err := whitecross.CheckSend(a.Role, d.category, d.priority); err != nil {
		return err
	}
	external := slices.ContainsFunc(in.Channels, func(c whitecross.Channel) bool { return c != whitecross.ChannelInApp })
	optOut := d.category.Health() && in.Sensitive != nil && !*in.Sensitive
	var st whitecross.TenantSettings
	if external || optOut {
		var err error
		if st, err = readTenantSettings(ctx, q, a.TenantID); err != nil {
			return err
		}
	}
	if err := checkAllowedChannels(st, in.Channels); err != nil {
		return err
	}
	d.sensitive = st.MessageSensitive(d.category, in.Sensitive)
	return nil
}

// readTenantSettings reads a district's settings.
func readTenantSettings(ctx context.Context, q Querier, tenantID string) (whitecross.TenantSettings, error) {
	var raw string
	var st whitecross.TenantSettings
	if err := q.QueryRow(ctx, `SELECT settings FROM tenants WHERE id = $1`, tenantID).Scan(&raw); err != nil {
		return st, fmt.Errorf("read tenant settings: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, fmt.Errorf("decode tenant settings: %w", err)
	}
	return st, nil
}

// checkAllowedChannels refuses a channel that the district (settings st)
// does not allow (TenantSettings.AllowedChannels; IN_APP is always
// allowed): EINVALID naming body.channels[i] of the request.
func checkAllowedChannels(st whitecross.TenantSettings, requested []whitecross.Channel) error {
	for i, c := range requested {
		if st.ChannelAllowed(c) {
			continue
		}
		allowed := []whitecross.Channel{whitecross.ChannelInApp}
		for _, a := range st.AllowedChannels {
			if a != whitecross.ChannelInApp {
				allowed = append(allowed, a)
			}
		}
		return whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.channels[%d]", i), string(c),
			"Your district does not allow %s messages; allowed: %s.", c, joinEnum(allowed))
	}
	return nil
}

// validSubject trims s and checks it is 1..MaxSubjectChars characters on
// one line.
func validSubject(s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.subject", nil, "Subject is required.")
	case n > whitecross.MaxSubjectChars:
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.subject", nil,
			"Subject must be at most %d characters.", whitecross.MaxSubjectChars)
	case !utf8.ValidString(s):
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.subject", nil, "Subject must be valid UTF-8 text.")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.subject", nil,
			"Subject must be one line without control characters.")
	}
	return s, nil
}

// validBody checks a body has something besides white space and at most
// MaxBodyChars characters. It is kept as written (leading spaces can matter
// in Markdown); NUL is refused because no reader expects it.
func validBody(s string) (string, error) {
	switch {
	case strings.TrimSpace(s) == "":
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.body", nil, "Body is required.")
	case utf8.RuneCountInString(s) > whitecross.MaxBodyChars:
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.body", nil,
			"Body must be at most %d characters.", whitecross.MaxBodyChars)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.body", nil, "Body must be valid UTF-8 text.")
	}
	return s, nil
}

// validBodyFormat applies the default PLAIN and checks the format.
func validBodyFormat(f whitecross.BodyFormat) (whitecross.BodyFormat, error) {
	if f == "" {
		return whitecross.BodyPlain, nil
	}
	if f != whitecross.BodyPlain && f != whitecross.BodyMarkdown {
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.body_format", string(f), "Body format must be PLAIN or MARKDOWN.")
	}
	return f, nil
}

// validChannels checks every channel, drops repeats and adds IN_APP. The
// result is in the order of whitecross.Channels (IN_APP first).
func validChannels(in []whitecross.Channel) ([]whitecross.Channel, error) {
	want := map[whitecross.Channel]bool{whitecross.ChannelInApp: true}
	for i, c := range in {
		if !slices.Contains(whitecross.Channels, c) {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.channels[%d]", i), string(c),
				"Channel must be one of %s.", joinEnum(whitecross.Channels))
		}
		want[c] = true
	}
	var out []whitecross.Channel
	for _, c := range whitecross.Channels {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// validAttachments checks at most MaxAttachments links, each an absolute
// https URL with a host and no credentials (at most MaxAttachmentURL bytes)
// and a one-line name of 1..MaxAttachmentName characters.
func validAttachments(in []whitecross.Attachment) ([]whitecross.Attachment, error) {
	if len(in) > whitecross.MaxAttachments {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.attachments", len(in),
			"At most %d attachments per message.", whitecross.MaxAttachments)
	}
	out := make([]whitecross.Attachment, len(in))
	for i, att := range in {
		field := fmt.Sprintf("body.attachments[%d]", i)
		raw := strings.TrimSpace(att.URL)
		if len(raw) > whitecross.MaxAttachmentURL {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, field+".url", nil,
				"Attachment URL must be at most %d characters.", whitecross.MaxAttachmentURL)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || !u.IsAbs() || u.Hostname() == "" || u.Opaque != "" ||
			strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, field+".url", nil,
				"Attachment URL must be an absolute https:// URL.")
		}
		if u.User != nil {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, field+".url", nil,
				"Attachment URL must not contain a user name or password.")
		}
		name := strings.TrimSpace(att.Name)
		n := utf8.RuneCountInString(name)
		if n == 0 || n > whitecross.MaxAttachmentName || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, field+".name", nil,
				"Attachment name must be 1 to %d characters on one line.", whitecross.MaxAttachmentName)
		}
		out[i] = whitecross.Attachment{URL: raw, Name: name}
	}
	return out, nil
}

// joinEnum lists enum values for an error message: "A, B, C".
func joinEnum[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
