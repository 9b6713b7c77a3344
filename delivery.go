package whitecross

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// The delivery side of the domain: what a deliver job needs, what it
// records, the provider callbacks that move a delivery on, channel fallback
// and the admin's dead-letter view. Package delivery runs the jobs; package
// store implements the services below.

// DeliveryTask is everything one attempt of a delivery needs, read fresh at
// each attempt (so a retry sees an opt-out recorded in between).
type DeliveryTask struct {
	Delivery   Delivery
	TenantName string
	// Timezone is the tenant's IANA timezone (quiet hours are in it).
	Timezone string
	Settings TenantSettings
	// Message is decrypted: the pipeline renders it for the channel, and
	// for a sensitive message sends only a notice and a link.
	Message   *Message
	Recipient DeliveryRecipient
}

// DeliveryRecipient is the recipient as a channel reaches them.
type DeliveryRecipient struct {
	ID     string
	Name   string
	Email  string // "" when none
	Phone  string // E.164, "" when none
	Locale string // the user's, else the tenant's default, else "en"
	// EmailSuppressed is set when the address bounced or complained.
	EmailSuppressed bool
	// PhoneOptedOut is set when the number texted STOP.
	PhoneOptedOut bool
	// Acknowledged is set when the recipient has acknowledged the message:
	// an escalation reminder still queued for them is then withdrawn.
	Acknowledged bool
	Push         []*PushSubscription
}

// PushSubscription is one browser's Web Push subscription.
type PushSubscription struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Endpoint  string    `json:"endpoint"`
	P256dh    string    `json:"-"`
	Auth      string    `json:"-"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
	// Failures counts the sends to it that failed in a row (one that
	// works resets it); FailingSince is when the first of them failed, and
	// LastError the latest reason (no endpoint in it).
	Failures     int        `json:"failures"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	// DisabledAt is set when it kept failing (see
	// DeliveryWorkStore.RecordPushResult): deliveries skip it; registering
	// the browser again enables it.
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// BrowserJSON is the subscription as the browser's PushSubscription.toJSON()
// gives it: what the webpush provider takes as Outbound.To.
func (p *PushSubscription) BrowserJSON() string {
	b, _ := json.Marshal(map[string]any{
		"endpoint": p.Endpoint,
		"keys":     map[string]string{"p256dh": p.P256dh, "auth": p.Auth},
	})
	return string(b)
}

// DeliveryOutcome is what one attempt of a delivery came to.
type DeliveryOutcome struct {
	// Status is SENT or DELIVERED (a provider accepted it), FAILED (a
	// permanent failure, or the last attempt failed), or "" for a temporary
	// failure that will be retried: attempts and error are recorded and the
	// delivery stays PENDING.
	Status DeliveryStatus
	// Provider and ProviderID identify the send at the provider, recorded
	// before the job is acknowledged so a retry never sends twice and
	// callbacks find the delivery.
	Provider   string
	ProviderID string
	// Error is the reason, safe to show (no content, no addresses).
	Error string
	// Fallback asks, with Status FAILED, for the next channel of the
	// tenant's fallback policy to be tried for this recipient.
	Fallback bool
}

// DeliveryChange is a committed change of one delivery. The store also
// hands it, after the commit, to its event notifier as delivery.updated
// events: the one path by which metrics and realtime learn of it.
type DeliveryChange struct {
	TenantID  string
	MessageID string
	SenderID  string
	Delivery  *Delivery
	// Fallback is the delivery created on the next channel, when the
	// change was a failure that the policy falls back from.
	Fallback *Delivery
}

// ProviderStatus is a status a provider reported later, by callback.
type ProviderStatus struct {
	Provider   string // "twilio", "sendgrid"
	ProviderID string // Twilio's SID; for email, the Message-ID we sent
	Status     DeliveryStatus
	Error      string // safe to show: provider code and meaning
	At         time.Time
}

// DeliveryWorkStore is what the delivery pipeline and provider callbacks
// need of the store. These are system operations: no caller in ctx.
type DeliveryWorkStore interface {
	// LoadDeliveryTask returns the delivery with its message, recipient and
	// tenant; ENOTFOUND when it does not exist.
	LoadDeliveryTask(ctx context.Context, tenantID, deliveryID string) (*DeliveryTask, error)
	// RecordDeliveryOutcome records an attempt in one transaction: status,
	// attempts, provider id, error, a timeline event, and on a FAILED with
	// Fallback the next channel's delivery and its job. It changes only a
	// PENDING delivery (returns nil, nil otherwise).
	RecordDeliveryOutcome(ctx context.Context, tenantID, deliveryID string, o DeliveryOutcome) (*DeliveryChange, error)
	// ApplyProviderStatus moves the delivery the provider id names forward,
	// never backwards (PENDING < SENT < DELIVERED < FAILED, BOUNCED; the
	// last two are final). nil, nil when no delivery matches or nothing
	// changes (a late or repeated callback).
	ApplyProviderStatus(ctx context.Context, st ProviderStatus) (*DeliveryChange, error)
	// SetPhoneOptOut records (or with optedOut false clears) a number's
	// SMS opt-out; source says why ("STOP", "START", "twilio:21610").
	SetPhoneOptOut(ctx context.Context, phone string, optedOut bool, source string) error
	// SuppressEmail stops email to an address ("bounce", "complaint").
	SuppressEmail(ctx context.Context, email, reason string) error
	// WithdrawDelivery deletes a PENDING delivery that must not be sent
	// after all (an escalation reminder to someone who has acknowledged
	// since it was queued), with its timeline; nothing when it is no longer
	// PENDING.
	WithdrawDelivery(ctx context.Context, tenantID, deliveryID string) error
	// RemovePushSubscription forgets a subscription the push service says
	// is gone.
	RemovePushSubscription(ctx context.Context, tenantID, id string) error
	// RecordPushResult records a send to one push subscription: failure ""
	// when it worked (the failure streak ends), else the reason. A
	// subscription that has failed several times in a row over a long
	// enough time is disabled, so deliveries stop trying it; a push
	// service outage shorter than that disables nothing. A subscription
	// that no longer exists (or is another tenant's) is not an error.
	RecordPushResult(ctx context.Context, tenantID, id, failure string) error
}

// PushSubscriptionService keeps the caller's browsers' push subscriptions.
// Only users have them: the system caller gets EFORBIDDEN.
type PushSubscriptionService interface {
	// SavePushSubscription stores sub (Endpoint, P256dh, Auth, UserAgent)
	// for the caller and fills in ID, UserID and CreatedAt. An endpoint
	// already known moves to the caller (the same browser, signed in by
	// someone else); the caller's own again keeps its id. Each user keeps
	// their newest 20; older ones are dropped. Saving a disabled one again
	// enables it. EINVALID naming a bad field (body.endpoint,
	// body.keys.p256dh, body.keys.auth), also for an endpoint the server
	// must not connect to (not https on 443, a host that is not public or
	// resolves to an address that is not, or outside the operator's
	// allow-list); EUNAVAILABLE when its host cannot be resolved now.
	SavePushSubscription(ctx context.Context, sub *PushSubscription) error
	// ListPushSubscriptions returns the caller's subscriptions, newest
	// first, disabled ones included.
	ListPushSubscriptions(ctx context.Context) ([]*PushSubscription, error)
	// DeletePushSubscription removes the caller's subscription with that
	// id; ENOTFOUND when the caller has none with it.
	DeletePushSubscription(ctx context.Context, id string) error
}

// DeliveryEvent is one step of a delivery's timeline.
type DeliveryEvent struct {
	Status DeliveryStatus `json:"status"`
	At     time.Time      `json:"at"`
	Detail string         `json:"detail"`
}

// DeadLetter is a failed or bounced delivery as the admin's view shows it.
type DeadLetter struct {
	Delivery
	MessageID     string          `json:"message_id"`
	RecipientName string          `json:"recipient_name"`
	Provider      string          `json:"provider"`
	UpdatedAt     time.Time       `json:"updated_at"`
	Timeline      []DeliveryEvent `json:"timeline"`
}

// DeadLetterFilter selects dead letters; zero values match everything.
type DeadLetterFilter struct {
	Status  DeliveryStatus // FAILED or BOUNCED; "" for both
	Channel Channel
	Limit   int    // 1..100, default 50
	Cursor  string // opaque
}

// DeadLetterPage is one page of dead letters, newest change first.
type DeadLetterPage struct {
	Items      []*DeadLetter
	NextCursor string
}

// AuditDeliveriesRetried records an admin putting failed or bounced
// deliveries back in the queue (detail: how many, and their ids).
const AuditDeliveriesRetried = "delivery.retried"

// DeadLetterService is the admin's view of deliveries that did not arrive
// (ADMIN of the tenant only; others EFORBIDDEN).
type DeadLetterService interface {
	ListDeadLetters(ctx context.Context, f DeadLetterFilter) (*DeadLetterPage, error)
	// RetryDeliveries puts FAILED or BOUNCED deliveries back to PENDING and
	// queues them again (audited); returns how many were requeued. Ids of
	// other tenants or deliveries not failed are skipped.
	RetryDeliveries(ctx context.Context, ids []string) (int, error)
	// ListEmailSuppressions lists the tenant's users whose email address
	// is suppressed (it bounced, complained or unsubscribed), by address.
	ListEmailSuppressions(ctx context.Context, limit int, cursor string) (*EmailSuppressionPage, error)
	// LiftEmailSuppression lets the pipeline email a user's address again
	// (audited); ENOTFOUND when the user is not the tenant's or their
	// address is not suppressed.
	LiftEmailSuppression(ctx context.Context, userID string) error
}

// EmailSuppression is a user whose email address is never emailed: it
// hard-bounced, its owner reported a message as spam, or unsubscribed.
// Suppressions belong to the address, for every district: it is the
// platform's sending reputation that a bounce or complaint harms.
type EmailSuppression struct {
	UserID   string
	UserName string
	Email    string
	Reason   string // bounce, complaint, unsubscribe, invalid
	Since    time.Time
}

// EmailSuppressionPage is one page of suppressions, by address.
type EmailSuppressionPage struct {
	Items      []*EmailSuppression
	NextCursor string
}

// AuditEmailSuppressionLifted records an admin lifting the suppression of
// a user's address (target: the user; the address is not recorded).
const AuditEmailSuppressionLifted = "email_suppression.lifted"

// DefaultFallback is the channel fallback policy by priority when a tenant
// sets none: when a delivery fails for good, the recipient is tried on the
// next channel of its message's priority that they have not been sent on.
// EMERGENCY messages use the URGENT chain whatever their priority.
var DefaultFallback = map[Priority][]Channel{
	PriorityUrgent: {ChannelPush, ChannelSMS, ChannelVoice, ChannelEmail},
	PriorityHigh:   {ChannelPush, ChannelSMS, ChannelEmail},
	PriorityMedium: {ChannelEmail, ChannelPush},
	PriorityLow:    {ChannelEmail},
}

// FallbackChain is the tenant's fallback policy for a message.
func (s TenantSettings) FallbackChain(p Priority, c Category) []Channel {
	if c == CategoryEmergency {
		p = PriorityUrgent
	}
	if chain, ok := s.Fallback[p]; ok {
		return chain
	}
	return DefaultFallback[p]
}

// ChannelAllowed reports whether the tenant allows the channel (IN_APP
// always; every channel when AllowedChannels is empty).
func (s TenantSettings) ChannelAllowed(c Channel) bool {
	return c == ChannelInApp || len(s.AllowedChannels) == 0 || slices.Contains(s.AllowedChannels, c)
}

// NextFallback returns the channel to try after failed: the first one after
// it in chain that the tenant allows and that is not in tried. ok is false
// when failed is not in chain or nothing is left.
func (s TenantSettings) NextFallback(chain []Channel, failed Channel, tried []Channel) (Channel, bool) {
	i := slices.Index(chain, failed)
	if i < 0 {
		return "", false
	}
	for _, c := range chain[i+1:] {
		if s.ChannelAllowed(c) && !slices.Contains(tried, c) {
			return c, true
		}
	}
	return "", false
}

// SMSOptOutOverridden reports whether an opted-out number is still texted
// for this message: only EMERGENCY messages, only when the tenant says so.
func (s TenantSettings) SMSOptOutOverridden(c Category) bool {
	return c == CategoryEmergency && s.EmergencyOverridesOptOut
}
