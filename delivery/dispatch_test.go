package delivery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/store"
	"whitecross/store/storetest"
)

func TestLargeSendIsAcceptedThenDispatchedByTheQueue(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newSendBundle(t, db, delivery.QueueConfig{}, true)
		recipients := b.staff(t, 2*store.InlineDispatchMax+50)
		recipients = append(recipients, b.d.LincolnStaff.ID)

		m := b.send(t, message("Field trip forms", recipients))
		require.Equal(t, whitecross.MessageSending, m.Status, "accepted, dispatched in the background")
		require.Equal(t, len(recipients), m.RecipientCount)

		e := b.waitDispatch(t, m.ID, nil)
		require.Equal(t, river.EventKindJobCompleted, e.Kind)
		require.Equal(t, delivery.QueueDefault, e.Job.Queue)
		require.Equal(t, whitecross.MessageSent, b.status(t, m.ID))
		require.Equal(t, len(recipients), b.delivered(t, m.ID), "every recipient has it")
		require.Equal(t, len(recipients), b.deliveries(t, m.ID), "one IN_APP delivery each")
		require.True(t, b.inInbox(t, b.d.LincolnStaff, m.ID))
	})
}

func TestMessageAndItsDispatchJobCommitTogether(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newSendBundle(t, db, delivery.QueueConfig{}, false)
		recipients := b.staff(t, store.InlineDispatchMax+1)

		// Refused: the nurse may not message a Washington parent.
		_, err := b.st.SendMessage(b.d.As(b.d.LincolnNurse), message("Refused", append(recipients, b.d.WashingtonParent.ID)))
		require.Equal(t, whitecross.EFORBIDDEN, whitecross.ErrorCode(err), "%v", err)
		require.Equal(t, 0, jobCount(t, db))

		// The job is inserted, then the transaction fails: both vanish.
		failing := &failAfterEnqueue{q: b.queue}
		b.st.SetDispatchQueue(failing)
		_, err = b.st.SendMessage(b.d.As(b.d.LincolnNurse), message("Rolled back", recipients))
		require.ErrorIs(t, err, errAfterEnqueue)
		require.True(t, failing.inserted)
		require.Equal(t, 0, jobCount(t, db), "no job without its message")
		require.Equal(t, 0, count(t, db, "SELECT COUNT(*) FROM messages"), "no message without its job")

		b.st.SetDispatchQueue(b.queue)
		m := b.send(t, message("Committed", recipients))
		require.Equal(t, 1, jobCount(t, db))
		require.Equal(t, whitecross.MessageSending, b.status(t, m.ID))
	})
}

var errAfterEnqueue = errors.New("failure after the job was inserted")

// failAfterEnqueue inserts the job, then fails the transaction.
type failAfterEnqueue struct {
	q        *delivery.Queue
	inserted bool
}

func (f *failAfterEnqueue) EnqueueDeliveries(ctx context.Context, tx *store.Tx, jobs []store.DeliverJob) error {
	return f.q.EnqueueDeliveries(ctx, tx, jobs)
}

func (f *failAfterEnqueue) EnqueueDispatch(ctx context.Context, tx *store.Tx, job store.DispatchJob) error {
	if err := f.q.EnqueueDispatch(ctx, tx, job); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM river_job").Scan(&n); err != nil || n != 1 {
		return errors.Join(err, errors.New("the job is not in the transaction"))
	}
	f.inserted = true
	return errAfterEnqueue
}

func TestScheduledMessagesAreDispatchedAtTheirTimeOnly(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newSendBundle(t, db, delivery.QueueConfig{}, true)
		d := b.d
		nurse := d.As(d.LincolnNurse)
		recipients := []string{d.LincolnStaff.ID, d.LincolnAdmin.ID, d.AnnexStaff.ID}
		start := b.clock.Now()
		at := func(after time.Duration) *time.Time { t := start.Add(after); return &t }
		schedule := func(subject string, when *time.Time) *whitecross.Message {
			in := message(subject, recipients)
			in.ScheduledAt = when
			m := b.send(t, in)
			require.Equal(t, whitecross.MessageScheduled, m.Status)
			return m
		}
		probe := schedule("Probe", at(30*time.Minute))
		onTime := schedule("Flu clinic", at(time.Hour))
		canceled := schedule("Canceled", at(time.Hour))
		moved := schedule("Moved", at(time.Hour))
		require.NoError(t, b.st.Cancel(nurse, canceled.ID))
		_, err := b.st.Reschedule(nurse, moved.ID, *at(2 * time.Hour))
		require.NoError(t, err)
		require.Equal(t, 5, jobCount(t, db), "one job per message and time")

		// T+30m: the probe's dispatch proves River's scheduler looked at
		// the queue after the clock moved; nothing due later has run.
		b.clock.Advance(30 * time.Minute)
		b.waitDispatch(t, probe.ID, probe.ScheduledAt)
		require.Equal(t, whitecross.MessageSent, b.status(t, probe.ID))
		for _, m := range []*whitecross.Message{onTime, canceled, moved} {
			require.Equal(t, 0, b.delivered(t, m.ID), "%s dispatched early", m.Subject)
		}
		require.Equal(t, whitecross.MessageScheduled, b.status(t, onTime.ID))

		// T+1h: on time; the canceled message's job and the moved
		// message's old job complete as no-ops.
		b.clock.Advance(30 * time.Minute)
		for _, m := range []*whitecross.Message{onTime, canceled, moved} {
			e := b.waitDispatch(t, m.ID, at(time.Hour))
			require.Equal(t, river.EventKindJobCompleted, e.Kind, m.Subject)
		}
		require.Equal(t, whitecross.MessageSent, b.status(t, onTime.ID))
		require.Equal(t, len(recipients), b.delivered(t, onTime.ID))
		require.True(t, b.inInbox(t, d.LincolnStaff, onTime.ID))
		require.Equal(t, whitecross.MessageCanceled, b.status(t, canceled.ID))
		require.Equal(t, 0, b.deliveries(t, canceled.ID))
		require.False(t, b.inInbox(t, d.LincolnStaff, canceled.ID))
		require.Equal(t, whitecross.MessageScheduled, b.status(t, moved.ID))
		require.Equal(t, 0, b.deliveries(t, moved.ID), "rescheduled: not at the old time")

		// T+2h: the moved message, once.
		b.clock.Advance(time.Hour)
		b.waitDispatch(t, moved.ID, at(2*time.Hour))
		require.Equal(t, whitecross.MessageSent, b.status(t, moved.ID))
		require.Equal(t, len(recipients), b.deliveries(t, moved.ID), "one delivery per recipient")
		require.Equal(t, whitecross.MessageCanceled, b.status(t, canceled.ID))
		require.Equal(t, 0, b.deliveries(t, canceled.ID))
	})
}

func TestUrgentMessageOvertakesQueuedBulkMessages(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newSendBundle(t, db, delivery.QueueConfig{}, false)
		recipients := b.staff(t, store.InlineDispatchMax+1)
		const bulk = 50
		for i := range bulk {
			m := b.send(t, message("Newsletter", recipients))
			require.Equalf(t, whitecross.MessageSending, m.Status, "newsletter %d", i)
		}
		in := message("Shelter in place", recipients)
		in.Category = whitecross.CategoryEmergency
		urgent := b.sendAs(t, b.d.LincolnAdmin, in)

		// Every job waits; the emergency was enqueued last.
		b.start(t)
		e := b.waitDispatch(t, urgent.ID, nil)
		require.Equal(t, river.EventKindJobCompleted, e.Kind)
		require.Equal(t, delivery.QueueUrgent, e.Job.Queue)
		bulkDone := 0
		for _, seen := range b.seen {
			if seen.Job.Queue == delivery.QueueDefault {
				bulkDone++
			}
		}
		t.Logf("%d of %d newsletters were dispatched before the emergency", bulkDone, bulk)
		require.Less(t, bulkDone, bulk/2, "the emergency waited behind the newsletters")
		require.Equal(t, len(recipients), b.delivered(t, urgent.ID))

		// The newsletters all go out too.
		b.waitCount(t, "newsletter dispatches", bulk, func(e *river.Event) bool {
			return e.Job.Queue == delivery.QueueDefault && e.Kind == river.EventKindJobCompleted
		})
		require.Equal(t, bulk+1, count(t, db, "SELECT COUNT(*) FROM messages WHERE status = 'SENT'"))
	})
}
