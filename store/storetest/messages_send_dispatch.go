package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// sendInbox is one message_recipients row.
type sendInbox struct {
	user        string
	inboxKey    *string
	deliveredAt *time.Time
}

func sendInboxRows(t *testing.T, db *store.DB, messageID string) []sendInbox {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT user_id, inbox_key, delivered_at FROM message_recipients
		WHERE message_id = $1 ORDER BY user_id`, messageID)
	require.NoError(t, err)
	defer rows.Close()
	var out []sendInbox
	for rows.Next() {
		var r sendInbox
		require.NoError(t, rows.Scan(&r.user, &r.inboxKey, &r.deliveredAt))
		r.user = strings.ToLower(r.user)
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// sendStatus returns the stored status of a message.
func sendStatus(t *testing.T, db *store.DB, id string) whitecross.MessageStatus {
	t.Helper()
	var s string
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT status FROM messages WHERE id = $1`, id).Scan(&s))
	return whitecross.MessageStatus(s)
}

func testSendInlineDispatch(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	ctx := context.Background()
	now := b.clock.Now()
	in := msg("Vision screening", d.LincolnParent, d.AnnexParent, d.LincolnStaff)
	in.Channels = []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelEmail}
	m := b.send(t, d.LincolnNurse, in)
	require.Equal(t, whitecross.MessageSent, m.Status)
	require.True(t, m.SentAt.Equal(now))

	inbox := sendInboxRows(t, b.db, m.ID)
	require.Len(t, inbox, 3)
	var keys []string
	for _, r := range inbox {
		require.NotNil(t, r.deliveredAt)
		require.True(t, r.deliveredAt.Equal(now))
		require.NotNil(t, r.inboxKey)
		keys = append(keys, strings.ToLower(*r.inboxKey))
	}
	require.True(t, slices.IsSorted(keys), "inbox keys are taken in recipient order")
	require.Len(t, slices.Compact(slices.Clone(keys)), 3)

	rows, err := b.db.Reader().Query(store.AllTenants(ctx), `SELECT d.recipient_id, d.channel, d.status, d.delivered_at, d.queued_at, e.status, e.at
		FROM deliveries d JOIN delivery_events e ON e.delivery_id = d.id WHERE d.message_id = $1`, m.ID)
	require.NoError(t, err)
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var rcpt, channel, status, evStatus string
		var deliveredAt *time.Time
		var queuedAt, evAt time.Time
		require.NoError(t, rows.Scan(&rcpt, &channel, &status, &deliveredAt, &queuedAt, &evStatus, &evAt))
		seen[strings.ToLower(rcpt)+"/"+channel] = true
		require.True(t, queuedAt.Equal(now))
		require.Equal(t, status, evStatus, "the first event records the first status")
		require.True(t, evAt.Equal(now))
		if channel == "IN_APP" {
			require.Equal(t, "DELIVERED", status)
			require.NotNil(t, deliveredAt)
			require.True(t, deliveredAt.Equal(now))
		} else {
			require.Equal(t, "PENDING", status, channel)
			require.Nil(t, deliveredAt)
		}
	}
	require.NoError(t, rows.Err())
	require.Len(t, seen, 9, "one delivery per recipient per channel")
	require.Equal(t, 9, sendCount(t, b.db, `SELECT COUNT(*) FROM delivery_events`))

	// Dispatching again changes nothing.
	before := sendCounts(t, b.db)
	done, err := b.st.DispatchMessage(ctx, store.DispatchJob{TenantID: d.Tenant.ID, MessageID: m.ID})
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, before, sendCounts(t, b.db))
	// So does a job for no message at all.
	done, err = b.st.DispatchMessage(ctx, store.DispatchJob{TenantID: d.Tenant.ID, MessageID: "nope"})
	require.NoError(t, err)
	require.True(t, done)
}

func testSendQueuedDispatch(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	ctx := context.Background()

	// Small immediate messages are still dispatched inline.
	m := b.send(t, d.LincolnNurse, msg("Small", d.LincolnParent))
	require.Equal(t, whitecross.MessageSent, m.Status)
	require.Empty(t, b.queue.take())

	// Larger ones are accepted SENDING with a job in the same transaction.
	bulk := BulkStaff(t, b.db, d.Tenant.ID, d.Lincoln.ID, store.InlineDispatchMax+1)
	in := &whitecross.MessageCreate{Subject: "Evacuation drill", Body: "b", RecipientIDs: bulk, Category: whitecross.CategoryEmergency}
	m = b.send(t, d.LincolnAdmin, in) // only administrators send EMERGENCY
	require.Equal(t, whitecross.MessageSending, m.Status)
	require.Equal(t, store.InlineDispatchMax+1, m.RecipientCount)
	require.Len(t, m.RecipientIDs, store.InlineDispatchMax+1)
	jobs := b.queue.take()
	require.Len(t, jobs, 1)
	job := jobs[0]
	require.Equal(t, d.Tenant.ID, job.TenantID)
	require.Equal(t, m.ID, job.MessageID)
	require.Nil(t, job.ScheduledAt)
	require.True(t, job.RunAt.Equal(b.clock.Now()))
	require.True(t, job.Urgent, "EMERGENCY travels in the urgent lane")
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1`, m.ID))
	_, err := b.st.FindMessageByID(d.As(&whitecross.User{ID: bulk[0], Role: whitecross.RoleStaff}), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	b.clock.Advance(time.Second)
	done, err := b.st.DispatchMessage(ctx, job)
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, whitecross.MessageSent, sendStatus(t, b.db, m.ID))
	require.Equal(t, store.InlineDispatchMax+1, sendCount(t, b.db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1`, m.ID))
	got, err := b.st.FindMessageByID(d.As(&whitecross.User{ID: bulk[0], Role: whitecross.RoleStaff}), m.ID)
	require.NoError(t, err)
	require.True(t, got.SentAt.Equal(b.clock.Now()))

	in = &whitecross.MessageCreate{Subject: "Newsletter", Body: "b", RecipientIDs: bulk, Priority: whitecross.PriorityUrgent}
	b.send(t, d.LincolnNurse, in)
	require.True(t, b.queue.take()[0].Urgent, "URGENT travels in the urgent lane")
	in = &whitecross.MessageCreate{Subject: "Newsletter", Body: "b", RecipientIDs: bulk, Priority: whitecross.PriorityHigh}
	b.send(t, d.LincolnNurse, in)
	require.False(t, b.queue.take()[0].Urgent)
}

func testSendScheduled(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	ctx := context.Background()
	at := b.clock.Now().Add(time.Hour)
	in := msg("Picture day", d.LincolnParent)
	in.ScheduledAt = &at
	m := b.send(t, d.LincolnNurse, in)
	require.Equal(t, whitecross.MessageScheduled, m.Status)
	require.True(t, m.ScheduledAt.Equal(at))
	require.Nil(t, m.SentAt)
	jobs := b.queue.take()
	require.Len(t, jobs, 1, "even a one-recipient scheduled message goes through the queue")
	require.True(t, jobs[0].RunAt.Equal(at))
	require.True(t, jobs[0].ScheduledAt.Equal(at))
	_, err := b.st.FindMessageByID(d.As(d.LincolnParent), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	// Too early: nothing changes and the queue is told to retry.
	before := sendCounts(t, b.db)
	b.clock.Advance(30 * time.Minute)
	done, err := b.st.DispatchMessage(ctx, jobs[0])
	require.True(t, errors.Is(err, store.ErrNotDue), "%v", err)
	require.False(t, done)
	require.Equal(t, before, sendCounts(t, b.db))
	require.Equal(t, whitecross.MessageScheduled, sendStatus(t, b.db, m.ID))

	b.clock.Advance(30 * time.Minute)
	done, err = b.st.DispatchMessage(ctx, jobs[0])
	require.NoError(t, err)
	require.True(t, done)
	got, err := b.st.FindMessageByID(d.As(d.LincolnParent), m.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageSent, got.Status)
	require.True(t, got.SentAt.Equal(at))
	before = sendCounts(t, b.db)
	done, err = b.st.DispatchMessage(ctx, jobs[0])
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, before, sendCounts(t, b.db))

	// Without a queue a scheduled message waits (nothing else dispatches it).
	nq := store.New(b.db, testHasher{}, b.sealer)
	at = b.clock.Now().Add(time.Hour)
	in = msg("Later", d.LincolnParent)
	in.ScheduledAt = &at
	m, err = nq.SendMessage(d.As(d.LincolnNurse), in)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageScheduled, m.Status)
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1`, m.ID))
}

func testSendReschedule(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	ctx := context.Background()
	now := b.clock.Now()
	at, later := now.Add(time.Hour), now.Add(2*time.Hour)
	in := msg("Hearing tests", d.LincolnParent)
	in.ScheduledAt = &at
	m := b.send(t, d.LincolnNurse, in)
	oldJob := b.queue.take()[0]

	// Only the sender may move it.
	_, err := b.st.Reschedule(d.As(d.LincolnParent), m.ID, later)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.Reschedule(d.As(d.WashingtonNurse), m.ID, later)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.Reschedule(d.As(d.Admin), m.ID, later)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.Reschedule(d.As(d.LincolnNurse), m.ID, now)
	requireCode(t, err, whitecross.EINVALID, "body.scheduled_at")
	_, err = b.st.Reschedule(d.As(d.LincolnNurse), m.ID, now.AddDate(1, 0, 1))
	requireCode(t, err, whitecross.EINVALID, "body.scheduled_at")
	require.Empty(t, b.queue.take())

	got, err := b.st.Reschedule(d.As(d.LincolnNurse), m.ID, later)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageScheduled, got.Status)
	require.True(t, got.ScheduledAt.Equal(later))
	jobs := b.queue.take()
	require.Len(t, jobs, 1)
	require.True(t, jobs[0].RunAt.Equal(later))
	require.True(t, jobs[0].ScheduledAt.Equal(later))
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND target_id = $2`,
		whitecross.AuditMessageRescheduled, m.ID))

	// The old job, when it runs, does nothing.
	b.clock.Advance(time.Hour)
	before := sendCounts(t, b.db)
	done, err := b.st.DispatchMessage(ctx, oldJob)
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, before, sendCounts(t, b.db))
	require.Equal(t, whitecross.MessageScheduled, sendStatus(t, b.db, m.ID))

	b.clock.Advance(time.Hour)
	done, err = b.st.DispatchMessage(ctx, jobs[0])
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, whitecross.MessageSent, sendStatus(t, b.db, m.ID))

	// Once sent, it can be neither moved nor canceled.
	_, err = b.st.Reschedule(d.As(d.LincolnNurse), m.ID, b.clock.Now().Add(time.Hour))
	requireCode(t, err, whitecross.ECONFLICT, "")
	require.Contains(t, err.Error(), "this one is SENT")
	err = b.st.Cancel(d.As(d.LincolnNurse), m.ID)
	requireCode(t, err, whitecross.ECONFLICT, "")
	require.Contains(t, err.Error(), "this one is SENT")
}

func testSendCancel(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	ctx := context.Background()
	at := b.clock.Now().Add(time.Hour)
	in := msg("Dental visit", d.LincolnParent)
	in.ScheduledAt = &at
	m := b.send(t, d.LincolnNurse, in)
	job := b.queue.take()[0]

	requireCode(t, b.st.Cancel(d.As(d.LincolnParent), m.ID), whitecross.ENOTFOUND, "")
	requireCode(t, b.st.Cancel(d.As(d.Admin), m.ID), whitecross.EFORBIDDEN, "")
	requireCode(t, b.st.Cancel(d.As(d.LincolnNurse), "nope"), whitecross.ENOTFOUND, "")
	require.NoError(t, b.st.Cancel(d.As(d.LincolnNurse), m.ID))
	require.Equal(t, whitecross.MessageCanceled, sendStatus(t, b.db, m.ID))
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND target_id = $2`,
		whitecross.AuditMessageCanceled, m.ID))

	requireCanceledInScheduledBox(t, b, d.LincolnNurse, m.ID, at)

	err := b.st.Cancel(d.As(d.LincolnNurse), m.ID)
	requireCode(t, err, whitecross.ECONFLICT, "")
	require.Contains(t, err.Error(), "this one is CANCELED")
	_, err = b.st.Reschedule(d.As(d.LincolnNurse), m.ID, at)
	requireCode(t, err, whitecross.ECONFLICT, "")

	b.clock.Advance(time.Hour)
	done, err := b.st.DispatchMessage(ctx, job)
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, whitecross.MessageCanceled, sendStatus(t, b.db, m.ID))
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1`, m.ID))
	_, err = b.st.FindMessageByID(d.As(d.LincolnParent), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	// An immediate message cannot be canceled.
	sent := b.send(t, d.LincolnNurse, msg("Now", d.LincolnParent))
	requireCode(t, b.st.Cancel(d.As(d.LincolnNurse), sent.ID), whitecross.ECONFLICT, "")
}

// requireCanceledInScheduledBox checks that a canceled message leaves a
// trace: it stays in its sender's scheduled box, marked CANCELED with its
// old time, is not in the sent box, and is not counted as waiting.
func requireCanceledInScheduledBox(t *testing.T, b *sendBundle, sender *whitecross.User, id string, at time.Time) {
	t.Helper()
	as := b.d.As(sender)
	page, err := b.st.ListMessages(as, whitecross.MessageFilter{Box: whitecross.BoxScheduled})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	got := page.Items[0]
	require.Equal(t, id, got.ID)
	require.Equal(t, whitecross.MessageCanceled, got.Status)
	require.True(t, got.ScheduledAt.Equal(at))
	page, err = b.st.ListMessages(as, whitecross.MessageFilter{Box: whitecross.BoxScheduled, Since: &at})
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "since/until apply to its old time")
	page, err = b.st.ListMessages(as, whitecross.MessageFilter{Box: whitecross.BoxSent})
	require.NoError(t, err)
	require.Empty(t, page.Items)
	counts, err := b.st.CountMessages(as)
	require.NoError(t, err)
	require.Equal(t, whitecross.BoxCount{}, counts[whitecross.BoxScheduled], "nothing waits")
	detail, err := b.st.FindMessageByID(as, id)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageCanceled, detail.Status)
}

// testSendCancelRace runs Cancel against a due dispatch job many times: a
// message ends either CANCELED with no delivery or SENT with all of them.
func testSendCancelRace(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	ctx := context.Background()
	for i := range 15 {
		at := b.clock.Now().Add(time.Minute)
		in := msg("Race", d.LincolnParent, d.LincolnStaff)
		in.ScheduledAt = &at
		m := b.send(t, d.LincolnNurse, in)
		job := b.queue.take()[0]
		b.clock.Advance(time.Minute)
		start := make(chan struct{})
		var cancelErr, dispatchErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			<-start
			_, dispatchErr = b.st.DispatchMessage(ctx, job)
		}()
		close(start)
		cancelErr = b.st.Cancel(d.As(d.LincolnNurse), m.ID)
		<-done
		require.NoError(t, dispatchErr)
		deliveries := sendCount(t, b.db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1`, m.ID)
		switch sendStatus(t, b.db, m.ID) {
		case whitecross.MessageCanceled:
			require.NoError(t, cancelErr, "round %d", i)
			require.Equal(t, 0, deliveries, "round %d", i)
		case whitecross.MessageSent:
			requireCode(t, cancelErr, whitecross.ECONFLICT, "")
			require.Equal(t, 2, deliveries, "round %d", i)
		default:
			t.Fatalf("round %d: status %s", i, sendStatus(t, b.db, m.ID))
		}
	}
}

// testSendBatches dispatches 2,500 recipients in three in-app batches and
// three email batches, with a "crash" (the job simply run again) and a
// duplicate job in between, in each phase.
func testSendBatches(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	ctx := context.Background()
	const n = 2500
	bulk := BulkStaff(t, b.db, d.Tenant.ID, d.Lincoln.ID, n)
	in := &whitecross.MessageCreate{Subject: "Head lice notice", Body: "b", RecipientIDs: bulk,
		Channels: []whitecross.Channel{whitecross.ChannelEmail}}
	m := b.send(t, d.LincolnNurse, in)
	require.Equal(t, n, m.RecipientCount)
	job := b.queue.take()[0]
	delivered := func() int {
		return sendCount(t, b.db, `SELECT COUNT(*) FROM message_recipients WHERE message_id = $1 AND delivered_at IS NOT NULL`, m.ID)
	}

	done, err := b.st.DispatchMessage(ctx, job)
	require.NoError(t, err)
	require.False(t, done)
	require.Equal(t, store.DispatchBatchSize, delivered())
	require.Equal(t, whitecross.MessageSending, sendStatus(t, b.db, m.ID))

	// The worker crashed after the first batch committed; the job runs
	// again, and a duplicate of it runs at the same time.
	b.clock.Advance(time.Second)
	results := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := b.st.DispatchMessage(ctx, job)
			results <- err
		}()
	}
	require.NoError(t, <-results)
	require.NoError(t, <-results)
	require.Equal(t, n, delivered(), "the two runs took the second and the last batch in turn")
	// Every recipient's in-app part comes first; the other channels'
	// deliveries follow, in batches that resume the same way.
	require.Equal(t, whitecross.MessageSending, sendStatus(t, b.db, m.ID))
	emails := func() int {
		return sendCount(t, b.db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND channel = 'EMAIL'`, m.ID)
	}
	require.Zero(t, emails())
	for range 2 {
		go func() {
			_, err := b.st.DispatchMessage(ctx, job)
			results <- err
		}()
	}
	require.NoError(t, <-results)
	require.NoError(t, <-results)
	require.Equal(t, 2*store.DispatchBatchSize, emails(), "the two runs took the first two email batches in turn")
	for {
		done, err = b.st.DispatchMessage(ctx, job)
		require.NoError(t, err)
		if done {
			break
		}
	}
	require.Equal(t, n, delivered())
	require.Equal(t, whitecross.MessageSent, sendStatus(t, b.db, m.ID))
	require.Equal(t, 2*n, sendCount(t, b.db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1`, m.ID))
	require.Equal(t, n, sendCount(t, b.db, `SELECT COUNT(DISTINCT recipient_id) FROM deliveries WHERE message_id = $1 AND channel = 'EMAIL'`, m.ID))
	require.Equal(t, n, sendCount(t, b.db, `SELECT COUNT(DISTINCT recipient_id) FROM deliveries WHERE message_id = $1 AND channel = 'IN_APP'`, m.ID))
	require.Equal(t, 2*n, sendCount(t, b.db, `SELECT COUNT(*) FROM delivery_events e JOIN deliveries x ON x.id = e.delivery_id WHERE x.message_id = $1`, m.ID))
	require.Equal(t, n, sendCount(t, b.db, `SELECT COUNT(DISTINCT inbox_key) FROM message_recipients WHERE message_id = $1`, m.ID))

	// Inbox keys follow recipient order within and across batches.
	inbox := sendInboxRows(t, b.db, m.ID)
	keys := make([]string, len(inbox))
	for i, r := range inbox {
		keys[i] = strings.ToLower(*r.inboxKey)
	}
	require.True(t, slices.IsSorted(keys))

	before := sendCounts(t, b.db)
	done, err = b.st.DispatchMessage(ctx, job)
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, before, sendCounts(t, b.db))
}
