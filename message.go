package whitecross

import (
	"context"
	"time"
)

// Category says what a message is about; EMERGENCY also selects the urgent lane.
type Category string

// Categories.
const (
	CategoryEmergency    Category = "EMERGENCY"
	CategoryHealthUpdate Category = "HEALTH_UPDATE"
	CategoryMedication   Category = "MEDICATION"
	CategoryImmunization Category = "IMMUNIZATION"
	CategoryIncident     Category = "INCIDENT"
	CategoryAppointment  Category = "APPOINTMENT"
	CategoryReminder     Category = "REMINDER"
	CategoryGeneral      Category = "GENERAL"
)

// Categories lists every category.
var Categories = []Category{CategoryEmergency, CategoryHealthUpdate, CategoryMedication, CategoryImmunization,
	CategoryIncident, CategoryAppointment, CategoryReminder, CategoryGeneral}

// Priority orders messages; URGENT also selects the urgent lane.
type Priority string

// Priorities.
const (
	PriorityLow    Priority = "LOW"
	PriorityMedium Priority = "MEDIUM"
	PriorityHigh   Priority = "HIGH"
	PriorityUrgent Priority = "URGENT"
)

// Priorities lists every priority.
var Priorities = []Priority{PriorityLow, PriorityMedium, PriorityHigh, PriorityUrgent}

// BodyFormat says how to read a body.
type BodyFormat string

// Body formats.
const (
	BodyPlain    BodyFormat = "PLAIN"
	BodyMarkdown BodyFormat = "MARKDOWN"
)

// BodyFormats lists every body format.
var BodyFormats = []BodyFormat{BodyPlain, BodyMarkdown}

// Channels lists every channel; IN_APP is always part of a message.
var Channels = []Channel{ChannelInApp, ChannelEmail, ChannelSMS, ChannelPush, ChannelVoice}

// MessageStatus is where a message is in its life.
type MessageStatus string

// Message statuses.
const (
	MessageScheduled MessageStatus = "SCHEDULED" // waits for scheduled_at; can be rescheduled or canceled
	// MessagePendingApproval: a broadcast larger than the district's
	// approval_threshold, waiting for an administrator to approve (then
	// SENDING or SCHEDULED) or reject it (CANCELED).
	MessagePendingApproval MessageStatus = "PENDING_APPROVAL"
	MessageSending         MessageStatus = "SENDING"  // being expanded into deliveries
	MessageSent            MessageStatus = "SENT"     // in every recipient's inbox
	MessageCanceled        MessageStatus = "CANCELED" // canceled while scheduled; never dispatched
)

// MessageStatuses lists every message status, in the order of a message's life.
var MessageStatuses = []MessageStatus{MessagePendingApproval, MessageScheduled, MessageSending, MessageSent, MessageCanceled}

// Box is a view of the caller's messages.
type Box string

// Boxes.
const (
	BoxInbox     Box = "inbox"     // received, not archived
	BoxSent      Box = "sent"      // sent by the caller (SENDING or SENT)
	BoxScheduled Box = "scheduled" // sent by the caller, waiting (SCHEDULED) or canceled while waiting (CANCELED)
	BoxArchived  Box = "archived"  // received and archived
	// BoxApprovals lists the broadcasts waiting for the caller's approval
	// (PENDING_APPROVAL, sent by someone else, that the caller may approve).
	BoxApprovals Box = "approvals"
)

// Message limits, enforced at the API edge and in the store, documented in
// the OpenAPI spec.
const (
	MaxSubjectChars = 200
	MaxBodyChars    = 20000
	MaxAttachments  = 10
	MaxRecipientIDs = 10000
	// MaxDetailRecipientIDs caps recipient_ids in a message's detail, so
	// that a sender's page polling a 100,000-recipient broadcast does not
	// read every recipient each time; recipient_count has the total and
	// the recipients listing pages through them all.
	MaxDetailRecipientIDs = 1000
	MaxGroupIDs           = 50
	MaxRecipientsPerSend  = 100000 // after expanding groups
	MaxAttachmentURL      = 2048
	MaxAttachmentName     = 255
	MaxIdempotencyKey     = 255
)

// Attachment is a link to a file held elsewhere (https only).
type Attachment struct {
	URL  string `json:"url"`
	Name string `json:"name"`
}

// MessageSender is who sent a message, as shown to its readers.
type MessageSender struct {
	ID   string
	Name string
	Role Role
}

// Message is one message as the caller sees it. Subject, Body and
// Attachments are stored encrypted; ReadAt and ArchivedAt are the caller's own.
// A Sensitive message read through a list, a thread or a live frame has Body
// "" and no Attachments: only its audited detail view (FindMessageByID) and
// the answers to its author's own writes carry them. It has no wire form
// of its own: package wire encodes it, the same for REST answers and
// realtime frames.
type Message struct {
	ID             string
	TenantID       string
	ThreadID       string
	ReplyToID      *string
	Sender         MessageSender
	RecipientIDs   []string
	RecipientCount int
	// StudentIDs are the students the message is about (sorted; a reply
	// carries those of the message it answers), shown to everyone who
	// reads the message, like its subject.
	StudentIDs []string
	// Audience is the broadcast audience as given (nil for none).
	Audience *Audience
	// ReadCount is how many recipients have read it; shown to the sender only.
	ReadCount   *int
	Subject     string
	Body        string
	BodyFormat  BodyFormat
	Category    Category
	Priority    Priority
	Channels    []Channel
	Attachments []Attachment
	Sensitive   bool
	Status      MessageStatus
	ScheduledAt *time.Time
	SentAt      *time.Time
	CreatedAt   time.Time
	ReadAt      *time.Time
	ArchivedAt  *time.Time
	// AckRequested says the sender asked recipients to acknowledge it;
	// AckedAt is the caller's own acknowledgement. AckSummary (sender and
	// admins, when AckRequested) counts them. Escalation is how those who
	// do not acknowledge are contacted again (nil for none): recipients see
	// it too, so they know what not acknowledging leads to.
	AckRequested bool
	AckedAt      *time.Time
	AckSummary   *AckSummary
	Escalation   *Escalation
}

// Urgent reports whether the message travels in the urgent lane.
func (m *Message) Urgent() bool {
	return m.Priority == PriorityUrgent || m.Category == CategoryEmergency
}

// MessageCreate is a request to send a message.
type MessageCreate struct {
	RecipientIDs []string
	GroupIDs     []string
	// StudentIDs names the students the message is about (at most
	// MaxStudentIDs), each one the sender may see.
	StudentIDs []string
	// Audience, when set, adds everyone who matches it when the message is
	// dispatched (beside or instead of RecipientIDs and GroupIDs).
	Audience    *Audience
	Subject     string
	Body        string
	BodyFormat  BodyFormat // default PLAIN
	Category    Category   // default GENERAL
	Priority    Priority   // default MEDIUM
	Channels    []Channel  // default [IN_APP]; IN_APP is always added
	Attachments []Attachment
	ScheduledAt *time.Time // nil or not after now: send now
	// Sensitive is what the sender asked, nil when they said nothing; the
	// message's flag is TenantSettings.MessageSensitive of it (a health
	// category is sensitive by default).
	Sensitive *bool
	// IdempotencyKey, when set, makes a retried request return the original
	// message; RequestHash fingerprints the request body so a different
	// body under the same key is ECONFLICT.
	IdempotencyKey string
	RequestHash    []byte
	// AckRequested asks every recipient to acknowledge the message;
	// Escalation (only with it) contacts those who do not, again.
	AckRequested bool
	Escalation   *Escalation
}

// ReplyCreate is a reply to a message.
type ReplyCreate struct {
	Body           string
	BodyFormat     BodyFormat
	IdempotencyKey string
	RequestHash    []byte
}

// MessageFilter narrows a box listing.
type MessageFilter struct {
	Box      Box // default inbox
	Category Category
	Priority Priority
	SenderID string
	Unread   bool
	Since    *time.Time
	Until    *time.Time
	Limit    int    // 1..100, default 50
	Cursor   string // opaque, from MessagePage.NextCursor
}

// MessagePage is one page of a box, newest first.
type MessagePage struct {
	Items      []*Message
	NextCursor string // "" on the last page
}

// BoxCount is the size of one box for badges.
type BoxCount struct {
	Total  int `json:"total"`
	Unread int `json:"unread"`
}

// Receipt (encoded by package wire) is what the sender of a message sees of one recipient's state of
// it: when it reached their inbox and their read receipt, ReadAt, when they
// first read it or replied to it. It never goes back (marking the message
// unread is the reader's own box state, Message.ReadAt). Only read state is
// shared: whether a recipient archived it is their own business.
type Receipt struct {
	UserID      string
	Name        string
	Role        Role
	DeliveredAt *time.Time
	ReadAt      *time.Time
}

// DeliveryStatus is where one delivery is: PENDING -> SENT -> DELIVERED, or
// FAILED or BOUNCED.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "PENDING"
	DeliverySent      DeliveryStatus = "SENT"
	DeliveryDelivered DeliveryStatus = "DELIVERED"
	DeliveryFailed    DeliveryStatus = "FAILED"
	DeliveryBounced   DeliveryStatus = "BOUNCED"
)

// DeliveryStatuses lists every delivery status.
var DeliveryStatuses = []DeliveryStatus{DeliveryPending, DeliverySent, DeliveryDelivered, DeliveryFailed, DeliveryBounced}

// Delivery is one message to one recipient over one channel. Package wire
// encodes it for REST answers and realtime frames alike.
type Delivery struct {
	ID          string
	MessageID   string
	RecipientID string
	Channel     Channel
	Status      DeliveryStatus
	Attempts    int
	Error       *string
	// AttemptKind is INITIAL for the message's own deliveries, ESCALATION
	// for those an escalation round sent again; Round is that round (0
	// for INITIAL). A fallback delivery keeps the kind and round of the
	// one it falls back from.
	AttemptKind AttemptKind
	Round       int
	QueuedAt    time.Time
	SentAt      *time.Time
	DeliveredAt *time.Time
	FailedAt    *time.Time
	BouncedAt   *time.Time
}

// DeliveryReport is the delivery view of a message.
type DeliveryReport struct {
	Items   []*Delivery
	Summary map[DeliveryStatus]int // every status present, zero when none
}

// MessageService sends and reads messages. Every method is scoped to the
// caller's tenant; a message the caller may not see is ENOTFOUND.
type MessageService interface {
	// SendMessage validates, checks the caller may message every recipient
	// (EFORBIDDEN naming the first refused one; EINVALID naming an unknown
	// one), then stores the message, its recipients and its dispatch in one
	// transaction. Nothing is stored when it fails. With a known
	// IdempotencyKey it returns the original message (same RequestHash) or
	// ECONFLICT (different RequestHash).
	SendMessage(ctx context.Context, in *MessageCreate) (*Message, error)
	// FindMessageByID returns a message to its sender, its recipients (once
	// delivered) and admins who may see it; audited as a read of PHI.
	FindMessageByID(ctx context.Context, id string) (*Message, error)
	// ListMessages returns one page of a box, newest first; keyset
	// pagination never skips or repeats while messages arrive. Sensitive
	// messages come without body and attachments (see Message).
	ListMessages(ctx context.Context, f MessageFilter) (*MessagePage, error)
	// CountMessages returns the size and unread count of every box.
	CountMessages(ctx context.Context) (map[Box]BoxCount, error)
	// Reply sends a reply in the message's thread (a recipient's reply
	// reads the message, as SetRead): from a recipient to the
	// message's sender only (never to every recipient); from the sender to
	// the single recipient of a one-to-one message (ECONFLICT for a
	// broadcast: send a new message instead).
	Reply(ctx context.Context, id string, in *ReplyCreate) (*Message, error)
	// Thread returns the caller's visible messages of the thread that
	// message id belongs to, oldest first; sensitive ones without body and
	// attachments, as in ListMessages.
	Thread(ctx context.Context, id string) ([]*Message, error)
	// SetRead marks the message read (or unread) for the caller, a
	// recipient. The first read also records the read receipt its sender
	// sees, which unread never takes back.
	SetRead(ctx context.Context, id string, read bool) error
	// SetArchived archives (or unarchives) the message for the caller.
	SetArchived(ctx context.Context, id string, archived bool) error
	// Reschedule moves a SCHEDULED message (sender only); ECONFLICT once it
	// is no longer SCHEDULED; EINVALID for a time not in the future.
	Reschedule(ctx context.Context, id string, at time.Time) (*Message, error)
	// Cancel cancels a SCHEDULED message (sender only); ECONFLICT otherwise.
	Cancel(ctx context.Context, id string) error
	// Approve lets a PENDING_APPROVAL broadcast go (SENDING, or SCHEDULED
	// until its time); Reject cancels it (CANCELED). By an ADMIN, or a
	// SCHOOL_ADMIN whose locations cover every location of its sender;
	// never by its sender. ECONFLICT when it is not PENDING_APPROVAL.
	Approve(ctx context.Context, id string) (*Message, error)
	Reject(ctx context.Context, id string) (*Message, error)
	// Deliveries returns the delivery view (sender and admins only).
	Deliveries(ctx context.Context, id string) (*DeliveryReport, error)
	// Receipts returns every recipient's read state (sender and admins only).
	Receipts(ctx context.Context, id string) ([]*Receipt, error)
}

// Audit actions of messaging.
const (
	AuditMessageSent = "message.sent"
	// AuditMessageViewed is what detail and thread reads were recorded as
	// before every read of content became AuditMessageRead (issue 15);
	// older chains hold it, nothing writes it now.
	AuditMessageViewed      = "message.viewed"
	AuditMessageCanceled    = "message.canceled"
	AuditMessageRescheduled = "message.rescheduled"
	// AuditMessageAudienceResolved records how many people a broadcast's
	// audience held when it was dispatched (detail: recipient_count).
	AuditMessageAudienceResolved = "message.audience.resolved"
	AuditMessageApproved         = "message.approved"
	AuditMessageRejected         = "message.rejected"
)

// BroadcastReport is the progress of a message as its sender follows it:
// how many people it was accepted for, how many have it in the app, have
// read it, and how each external channel is doing. A recipient counts as
// reached once they read it or any external channel sent it to them; a
// channel's failures for someone reached another way are FellBack, not
// Failed, so a fallback never reads as a failure.
type BroadcastReport struct {
	MessageID      string
	Status         MessageStatus
	RecipientCount int
	InApp          int // in the recipient's inbox
	Read           int
	NotReached     int // neither read nor sent by any external channel (yet)
	Acked          int // acknowledged it (0 when it does not ask for acknowledgement)
	Channels       map[Channel]ChannelProgress
}

// ChannelProgress counts one external channel's deliveries of a message.
type ChannelProgress struct {
	Pending, Sent, Delivered, Failed, FellBack int
}

// Unreached is one recipient not reached yet, with why: the last failure
// on any channel, or what the message waits for.
type Unreached struct {
	UserID string
	Name   string
	Role   Role
	Reason string
}

// UnreachedPage is one page of the recipients not reached yet, by user id.
type UnreachedPage struct {
	Items      []*Unreached
	NextCursor string
}

// RecipientPage is one page of a message's recipients, by user id, each
// with its receipt.
type RecipientPage struct {
	Items      []*Receipt
	NextCursor string
}

// DeliveryRow is one line of a message's delivery export: one recipient
// and one channel (IN_APP included) with the recipient's read state.
type DeliveryRow struct {
	RecipientID string
	Name        string
	Role        Role
	Channel     Channel
	Status      DeliveryStatus
	Error       *string
	SentAt      *time.Time
	DeliveredAt *time.Time
	ReadAt      *time.Time
	AckedAt     *time.Time // when the recipient acknowledged it, if it asks for that
}

// BroadcastReportService is what the sender of a message (and an ADMIN)
// follows it with. Access as MessageService.Deliveries.
type BroadcastReportService interface {
	Report(ctx context.Context, messageID string) (*BroadcastReport, error)
	// Unreached lists recipients not reached yet, limit 1..100 (default 50).
	Unreached(ctx context.Context, messageID, cursor string, limit int) (*UnreachedPage, error)
	// Recipients lists every recipient with their receipt, by user id,
	// limit 1..100 (default 50): the whole list of a message whose detail
	// carries only the first MaxDetailRecipientIDs ids.
	Recipients(ctx context.Context, messageID, cursor string, limit int) (*RecipientPage, error)
	// ExportDeliveries calls fn for every delivery of the message, by
	// recipient then channel, reading in pages so a 100,000-recipient
	// broadcast is never held in memory.
	ExportDeliveries(ctx context.Context, messageID string, fn func(*DeliveryRow) error) error
}
