package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseMessagesSend is the conformance suite of sending messages: send,
// validation and who-may-message refusals (which store nothing), groups,
// content encryption at rest, idempotency, dispatch (inline, queued,
// scheduled, batched and resumed after a crash), reschedule and cancel,
// and replies.
func exerciseMessagesSend(t *testing.T, open Opener) {
	tests := []subtest{
		{"SendOne", testSendOne},
		{"SendMany", testSendMany},
		{"Validation", testSendValidation},
		{"RefusalsStoreNothing", testSendRefusals},
		{"Groups", testSendGroups},
		{"EncryptedAtRest", testSendEncrypted},
		{"TenantKeys", testSendTenantKeys},
		{"Idempotency", testSendIdempotency},
		{"IdempotencyConcurrent", testSendIdempotencyConcurrent},
		{"InlineDispatch", testSendInlineDispatch},
		{"QueuedDispatch", testSendQueuedDispatch},
		{"Scheduled", testSendScheduled},
		{"Reschedule", testSendReschedule},
		{"Cancel", testSendCancel},
		{"CancelRacesDispatch", testSendCancelRace},
		{"BatchesResumeAfterCrash", testSendBatches},
		{"TenThousandRecipients", testSendTenThousand},
		{"Replies", testSendReplies},
		{"ReplyRules", testSendReplyRules},
	}
	runSubtests(t, open, tests)
}

// sendBundle is what a sending test works with. queue is nil unless the
// test asked for one (and then set on st).
type sendBundle struct {
	db    *store.DB
	st    *store.Store
	clock *Clock
	d     *District
	queue *recordingQueue
	// sealer is the master-key vault of st, for a second Store on db.
	sealer whitecross.Sealer
}

func setupSend(t *testing.T, open Opener, withQueue bool) *sendBundle {
	t.Helper()
	db := open(t)
	clock := NewClock(time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC))
	db.Now = clock.Now
	v := newTestVault(t)
	st := store.New(db, testHasher{}, v)
	b := &sendBundle{db: db, st: st, clock: clock, d: SeedDistrict(t, st), sealer: v}
	if withQueue {
		b.queue = &recordingQueue{}
		st.SetDispatchQueue(b.queue)
	}
	return b
}

// recordingQueue is a store.DispatchQueue that remembers the jobs enqueued,
// so tests run them by hand with DispatchMessage.
type recordingQueue struct {
	mu         sync.Mutex
	jobs       []store.DispatchJob
	deliveries []store.DeliverJob
}

func (q *recordingQueue) EnqueueDeliveries(ctx context.Context, tx *store.Tx, jobs []store.DeliverJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deliveries = append(q.deliveries, jobs...)
	return nil
}

func (q *recordingQueue) EnqueueDispatch(ctx context.Context, tx *store.Tx, job store.DispatchJob) error {
	// Recorded even if tx later rolls back; tests of refused sends check
	// that no job was enqueued at all.
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, job)
	return nil
}

// take returns and forgets the recorded jobs.
func (q *recordingQueue) take() []store.DispatchJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.jobs
	q.jobs = nil
	return out
}

// send sends in from u and requires success.
func (b *sendBundle) send(t *testing.T, from *whitecross.User, in *whitecross.MessageCreate) *whitecross.Message {
	t.Helper()
	m, err := b.st.SendMessage(b.d.As(from), in)
	require.NoError(t, err)
	return m
}

// to returns the ids of users.
func to(users ...*whitecross.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// msg is a valid request to users.
func msg(subject string, users ...*whitecross.User) *whitecross.MessageCreate {
	return &whitecross.MessageCreate{Subject: subject, Body: "Body of " + subject, RecipientIDs: to(users...)}
}

// sendTables are the tables a send writes to.
var sendTables = []string{"messages", "message_recipients", "idempotency_keys", "audit_events", "deliveries", "delivery_events", "message_students"}

// sendCounts counts the rows of every table a send writes to.
func sendCounts(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range sendTables {
		out[table] = sendCount(t, db, `SELECT COUNT(*) FROM `+table)
	}
	return out
}

// sendCount runs a COUNT query.
func sendCount(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), query, args...).Scan(&n))
	return n
}

// BulkStaff inserts n active STAFF users at loc with raw SQL (creating
// thousands through CreateUser would dominate the test) and returns their ids.
func BulkStaff(t testing.TB, db *store.DB, tenantID, loc string, n int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	now := db.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		for start := 0; start < n; start += 500 {
			end := min(start+500, n)
			var users, locs strings.Builder
			uargs := []any{tenantID, now}
			largs := []any{tenantID, loc}
			for i := start; i < end; i++ {
				ids[i] = uuid.Must(uuid.NewV7()).String()
				if i > start {
					users.WriteString(", ")
					locs.WriteString(", ")
				}
				uargs = append(uargs, ids[i], "bulk-"+ids[i]+"@x.example")
				fmt.Fprintf(&users, "($%d, $1, $%d, 'Bulk Staff', 'STAFF', $2, $2)", len(uargs)-1, len(uargs))
				largs = append(largs, ids[i])
				fmt.Fprintf(&locs, "($1, $%d, $2)", len(largs))
			}
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, name, role, created_at, updated_at) VALUES `+users.String(), uargs...); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO user_locations (tenant_id, user_id, location_id) VALUES `+locs.String(), largs...); err != nil {
				return err
			}
		}
		return nil
	}))
	return ids
}

func testSendOne(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	now := b.clock.Now()
	in := msg("  Lice screening results  ", d.LincolnParent)
	m := b.send(t, d.LincolnNurse, in)

	require.NotEmpty(t, m.ID)
	require.Equal(t, m.ID, m.ThreadID, "a root message is its own thread")
	require.Nil(t, m.ReplyToID)
	require.Equal(t, d.LincolnNurse.ID, m.Sender.ID)
	require.Equal(t, d.LincolnNurse.Name, m.Sender.Name)
	require.Equal(t, whitecross.RoleNurse, m.Sender.Role)
	require.Equal(t, []string{d.LincolnParent.ID}, m.RecipientIDs)
	require.Equal(t, 1, m.RecipientCount)
	require.Equal(t, "Lice screening results", m.Subject, "subject is trimmed")
	require.Equal(t, "Body of   Lice screening results  ", m.Body, "body is kept as written")
	require.Equal(t, whitecross.BodyPlain, m.BodyFormat)
	require.Equal(t, whitecross.CategoryGeneral, m.Category)
	require.Equal(t, whitecross.PriorityMedium, m.Priority)
	require.Equal(t, []whitecross.Channel{whitecross.ChannelInApp}, m.Channels)
	require.Equal(t, []whitecross.Attachment{}, m.Attachments)
	require.False(t, m.Sensitive)
	require.Equal(t, whitecross.MessageSent, m.Status, "a small message without a queue is dispatched inline")
	require.Nil(t, m.ScheduledAt)
	require.NotNil(t, m.SentAt)
	require.True(t, m.SentAt.Equal(now))
	require.True(t, m.CreatedAt.Equal(now))

	got, err := b.st.FindMessageByID(d.As(d.LincolnParent), m.ID)
	require.NoError(t, err)
	require.Equal(t, "Lice screening results", got.Subject)
	require.Equal(t, []string{d.LincolnParent.ID}, got.RecipientIDs)

	// The audit event says who, how many and what kind, never what.
	var detail, actor string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT detail, actor_id FROM audit_events
		WHERE tenant_id = $1 AND action = $2 AND target_id = $3`, d.Tenant.ID, whitecross.AuditMessageSent, m.ID).Scan(&detail, &actor))
	require.Equal(t, d.LincolnNurse.ID, strings.ToLower(actor))
	require.Contains(t, detail, `"recipient_count":"1"`)
	require.Contains(t, detail, `"category":"GENERAL"`)
	require.Contains(t, detail, `"priority":"MEDIUM"`)
	require.Contains(t, detail, `"sensitive":"false"`)
	require.NotContains(t, detail, "Lice")

	_, err = b.st.SendMessage(context.Background(), in)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.SendMessage(d.System(), in)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.Reply(context.Background(), m.ID, &whitecross.ReplyCreate{Body: "x"})
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.Reschedule(context.Background(), m.ID, now.Add(time.Hour))
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	requireCode(t, b.st.Cancel(context.Background(), m.ID), whitecross.EUNAUTHORIZED, "")
}

func testSendMany(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	ids := to(d.DistrictNurse, d.LincolnAdmin, d.LincolnStaff, d.AnnexStaff, d.LincolnParent, d.AnnexParent)
	// Repeats, another spelling of an id and the sender are all dropped.
	in := &whitecross.MessageCreate{Subject: "Flu clinic", Body: "Thursday.",
		RecipientIDs: append(ids, d.LincolnStaff.ID, strings.ToUpper(d.AnnexParent.ID), d.LincolnNurse.ID),
		Channels:     []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS, whitecross.ChannelEmail},
		Category:     whitecross.CategoryImmunization, Priority: whitecross.PriorityHigh, BodyFormat: whitecross.BodyMarkdown,
		Sensitive: new(true),
		Attachments: []whitecross.Attachment{{URL: "https://files.example.org/flu.pdf", Name: " flu.pdf "},
			{URL: "https://files.example.org/consent.pdf?v=2", Name: "Consent form"}},
	}
	m := b.send(t, d.LincolnNurse, in)
	require.Equal(t, 6, m.RecipientCount)
	want := slices.Sorted(slices.Values(ids))
	require.Equal(t, want, m.RecipientIDs)
	require.Equal(t, []whitecross.Channel{whitecross.ChannelInApp, whitecross.ChannelEmail, whitecross.ChannelSMS}, m.Channels,
		"IN_APP is always included; repeats dropped")
	require.Equal(t, whitecross.CategoryImmunization, m.Category)
	require.Equal(t, whitecross.PriorityHigh, m.Priority)
	require.Equal(t, whitecross.BodyMarkdown, m.BodyFormat)
	require.True(t, m.Sensitive)
	require.Equal(t, []whitecross.Attachment{{URL: "https://files.example.org/flu.pdf", Name: "flu.pdf"},
		{URL: "https://files.example.org/consent.pdf?v=2", Name: "Consent form"}}, m.Attachments)
	require.Equal(t, 6, sendCount(t, b.db, `SELECT COUNT(*) FROM message_recipients WHERE message_id = $1`, m.ID))
	for _, u := range []*whitecross.User{d.DistrictNurse, d.AnnexParent} {
		got, err := b.st.FindMessageByID(d.As(u), m.ID)
		require.NoError(t, err)
		require.Equal(t, m.Attachments, got.Attachments)
	}

	// A guardian may write to the staff of their child's school.
	m2 := b.send(t, d.LincolnParent, msg("Question", d.LincolnNurse, d.LincolnStaff))
	require.Equal(t, 2, m2.RecipientCount)
}
