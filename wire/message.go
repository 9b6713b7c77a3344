package wire

import (
	"time"

	"whitecross"
	"whitecross/markdown"
)

// Message is one message as the caller sees it.
type Message struct {
	ID             string        `json:"id" format:"uuid"`
	ThreadID       string        `json:"thread_id" format:"uuid" doc:"The id of the thread's first message; a root message's own id"`
	ReplyToID      *string       `json:"reply_to_id" format:"uuid" doc:"The message this one answers, or null"`
	Sender         MessageSender `json:"sender"`
	RecipientIDs   []string      `json:"recipient_ids" nullable:"false" doc:"The recipients by id, for the sender and ADMINs: at most 100 in listings and threads, the first 1,000 in a message's own answer (recipient_count has the total; GET /api/v1/messages/{id}/recipients pages through them all); only the caller's own id, for a recipient"`
	StudentIDs     []string      `json:"student_ids" nullable:"false" doc:"The students the message is about, sorted ([] for none); a reply carries those of the message it answers. Shown to everyone who reads the message, like its subject"`
	RecipientCount int           `json:"recipient_count" doc:"Recipients after expanding groups; for a broadcast, 0 (or the named recipients) until its audience is resolved at dispatch, then everyone it reached"`
	Audience       *Audience     `json:"audience" doc:"The broadcast audience as given (canonical: ids lower-case, grades upper-case, each once), or null"`
	ReadCount      *int          `json:"read_count,omitempty" doc:"How many recipients have read it (or replied to it); a receipt never goes back when a recipient marks it unread. For the sender and ADMINs only"`
	Subject        string        `json:"subject"`
	Body           string        `json:"body" doc:"As written, in body_format. Empty for a sensitive message everywhere but GET /messages/{id} (the audited read) and the answers to its author's own send, reply or reschedule: lists, threads and live frames carry its subject and sensitive: true only, so a client shows a marker and fetches the detail to read it"`
	BodyHTML       string        `json:"body_html" doc:"The body as sanitized HTML, safe to insert into a page: MARKDOWN is rendered (raw HTML dropped, images shown as links to them, links get rel=\"nofollow noreferrer\"), PLAIN is escaped with line breaks as <br>. Always present, so clients never insert the raw body; empty where body is withheld."`
	BodyFormat     string        `json:"body_format" enum:"PLAIN,MARKDOWN"`
	Category       string        `json:"category" enum:"EMERGENCY,HEALTH_UPDATE,MEDICATION,IMMUNIZATION,INCIDENT,APPOINTMENT,REMINDER,GENERAL"`
	Priority       string        `json:"priority" enum:"LOW,MEDIUM,HIGH,URGENT"`
	Channels       []string      `json:"channels" nullable:"false" enum:"IN_APP,EMAIL,SMS,PUSH,VOICE"`
	Attachments    []Attachment  `json:"attachments" nullable:"false" doc:"Withheld ([]) with the body of a sensitive message"`
	Sensitive      bool          `json:"sensitive" doc:"Protected health information: its body and attachments are shown only by GET /messages/{id}, whose every read is audited"`
	Status         string        `json:"status" enum:"PENDING_APPROVAL,SCHEDULED,SENDING,SENT,CANCELED" doc:"PENDING_APPROVAL: a broadcast above the district's approval_threshold, waiting for an administrator"`
	ScheduledAt    *time.Time    `json:"scheduled_at"`
	SentAt         *time.Time    `json:"sent_at"`
	CreatedAt      time.Time     `json:"created_at"`
	ReadAt         *time.Time    `json:"read_at" doc:"When the caller read it (the caller's own state), or null"`
	ArchivedAt     *time.Time    `json:"archived_at" doc:"When the caller archived it (the caller's own state), or null"`
	MessageAck
}

// Audience is who a broadcast reaches, resolved when it is dispatched.
// Its tags also validate the audience of a send request and a preview.
type Audience struct {
	Everyone    bool     `json:"everyone,omitempty" doc:"The whole of whom the sender may reach; never combined with another dimension"`
	LocationIDs []string `json:"location_ids,omitempty" maxItems:"100" nullable:"false" doc:"People at these locations or below them; a guardian is at the locations of the students they have custody of"`
	Roles       []string `json:"roles,omitempty" maxItems:"5" nullable:"false" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN"`
	Grades      []string `json:"grades,omitempty" maxItems:"20" nullable:"false" doc:"Guardians with custody of a student in one of these grades (with location_ids, at one of those locations)"`
}

// AudienceFrom is aud on the wire (nil for none).
func AudienceFrom(aud *whitecross.Audience) *Audience {
	if aud == nil {
		return nil
	}
	out := &Audience{Everyone: aud.Everyone, LocationIDs: aud.LocationIDs, Grades: aud.Grades}
	for _, r := range aud.Roles {
		out.Roles = append(out.Roles, string(r))
	}
	return out
}

// Domain is a as the domain takes it (nil for none).
func (a *Audience) Domain() *whitecross.Audience {
	if a == nil {
		return nil
	}
	return &whitecross.Audience{Everyone: a.Everyone, LocationIDs: a.LocationIDs, Roles: enums[whitecross.Role](a.Roles), Grades: a.Grades}
}

// MessageSender is who sent a message.
type MessageSender struct {
	ID   string `json:"id" format:"uuid"`
	Name string `json:"name"`
	Role string `json:"role" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN"`
}

// Attachment is a link to a file held elsewhere. Its tags also validate
// the attachments of a send request.
type Attachment struct {
	URL  string `json:"url" format:"uri" maxLength:"2048" pattern:"^https://" patternDescription:"an https URL"`
	Name string `json:"name" minLength:"1" maxLength:"255" doc:"The file name to show"`
}

// MessageFrom is m as its reader sees it on every wire. What m holds is
// already the reader's view (the store withholds a sensitive body from
// lists and frames, and fills in the reader's own ids and state); body_html
// is rendered from the body here, so it is withheld with it.
func MessageFrom(m *whitecross.Message) Message {
	out := Message{
		ID: m.ID, ThreadID: m.ThreadID, ReplyToID: m.ReplyToID,
		Sender:       MessageSender{ID: m.Sender.ID, Name: m.Sender.Name, Role: string(m.Sender.Role)},
		RecipientIDs: make([]string, 0, len(m.RecipientIDs)), StudentIDs: make([]string, 0, len(m.StudentIDs)), RecipientCount: m.RecipientCount, ReadCount: m.ReadCount,
		Audience: AudienceFrom(m.Audience),
		Subject:  m.Subject, Body: m.Body, BodyHTML: markdown.AppHTML(m.Body, m.BodyFormat),
		BodyFormat: string(m.BodyFormat), Category: string(m.Category), Priority: string(m.Priority),
		Channels: ChannelNames(m.Channels), Attachments: make([]Attachment, 0, len(m.Attachments)),
		Sensitive: m.Sensitive, Status: string(m.Status),
		ScheduledAt: m.ScheduledAt, SentAt: m.SentAt, CreatedAt: m.CreatedAt, ReadAt: m.ReadAt, ArchivedAt: m.ArchivedAt,
	}
	out.MessageAck = messageAckFrom(m)
	out.RecipientIDs = append(out.RecipientIDs, m.RecipientIDs...)
	out.StudentIDs = append(out.StudentIDs, m.StudentIDs...)
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, Attachment{URL: a.URL, Name: a.Name})
	}
	return out
}

// MessagesFrom is MessageFrom of each, [] (never null) for none.
func MessagesFrom(ms []*whitecross.Message) []Message {
	out := make([]Message, 0, len(ms))
	for _, m := range ms {
		out = append(out, MessageFrom(m))
	}
	return out
}
