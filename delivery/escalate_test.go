package delivery_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/provider/capture"
	"whitecross/store"
	"whitecross/store/storetest"
)

// escalateArgs decodes the args of an escalate job (zero for other kinds).
func escalateArgs(t testing.TB, e *river.Event) delivery.EscalateArgs {
	t.Helper()
	var a delivery.EscalateArgs
	if e.Job.Kind == delivery.EscalateKind {
		require.NoError(t, json.Unmarshal(e.Job.EncodedArgs, &a))
	}
	return a
}

// escalationJobs lists the message's escalate jobs, whatever their state.
func (b *deliverBundle) escalationJobs(t *testing.T, messageID string) []*rivertype.JobRow {
	t.Helper()
	res, err := b.queue.JobList(context.Background(), river.NewJobListParams().Kinds(delivery.EscalateKind).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateCompleted, rivertype.JobStateRunning).First(100))
	require.NoError(t, err)
	var out []*rivertype.JobRow
	for _, j := range res.Jobs {
		var a delivery.EscalateArgs
		require.NoError(t, json.Unmarshal(j.EncodedArgs, &a))
		if a.MessageID == messageID {
			out = append(out, j)
		}
	}
	return out
}

// escalationDeliveries returns "recipient/channel/round" of the message's
// ESCALATION deliveries with their ids.
func (b *deliverBundle) escalationDeliveries(t *testing.T, messageID string) map[string]string {
	t.Helper()
	rows, err := b.db.Reader().Query(store.AllTenants(context.Background()), `SELECT id, recipient_id, channel, round FROM deliveries
		WHERE message_id = $1 AND attempt_kind = 'ESCALATION'`, messageID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, rcpt, channel string
		var round int
		require.NoError(t, rows.Scan(&id, &rcpt, &channel, &round))
		out[strings.ToLower(rcpt)+"/"+channel+"/"+string(rune('0'+round))] = strings.ToLower(id)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestEscalationRoundsAreScheduledJobs: an urgent message that asks for
// acknowledgement schedules its first escalation round as a River job at
// sent_at + after_minutes; when the test clock reaches it, the recipient
// who did not acknowledge is texted (an ESCALATION delivery through the
// urgent deliver lane, to the capture provider), the one who did is not,
// and the next round is a job of its own, which contacts nobody once
// everyone has acknowledged and schedules no third.
func TestEscalationRoundsAreScheduledJobs(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		parent, staff := b.d.LincolnParent, b.d.LincolnStaff
		b.setPhone(t, parent, phoneOf(1))
		b.setPhone(t, staff, phoneOf(2))
		in := message("Shelter in place", []string{parent.ID, staff.ID})
		in.Priority = whitecross.PriorityUrgent
		in.AckRequested = true
		in.Escalation = &whitecross.Escalation{AfterMinutes: 10, Channels: []whitecross.Channel{whitecross.ChannelSMS}, Repeat: 1}
		sentAt := b.clock.Now()
		m := b.send(t, in)
		require.Equal(t, whitecross.MessageSent, m.Status)

		jobs := b.escalationJobs(t, m.ID)
		require.Len(t, jobs, 1, "round 1 is enqueued with the message")
		require.Equal(t, rivertype.JobStateScheduled, jobs[0].State)
		require.True(t, jobs[0].ScheduledAt.Equal(sentAt.Add(10*time.Minute)), "scheduled at %s", jobs[0].ScheduledAt)
		require.Equal(t, delivery.QueueUrgent, jobs[0].Queue)

		ack := func(u *whitecross.User) {
			require.NoError(t, b.st.Acknowledge(b.d.As(u), m.ID))
		}
		ack(staff)
		round := func(n int) *river.Event {
			return b.waitFor(t, "escalation round", func(e *river.Event) bool {
				a := escalateArgs(t, e)
				return a.MessageID == m.ID && a.Round == n
			})
		}

		b.clock.Advance(10 * time.Minute)
		e := round(1)
		require.Equal(t, river.EventKindJobCompleted, e.Kind)
		got := b.escalationDeliveries(t, m.ID)
		require.Len(t, got, 1, "only the one who did not acknowledge: %v", got)
		id := got[parent.ID+"/SMS/1"]
		require.NotEmpty(t, id)
		d := b.waitDelivered(t, id)
		require.Equal(t, delivery.QueueDeliverUrgent, d.Job.Queue)
		var texts []string
		for _, s := range b.outbox[whitecross.ChannelSMS].List(capture.Filter{}) {
			texts = append(texts, s.Outbound.To)
		}
		require.Equal(t, []string{phoneOf(1)}, texts, "the parent is texted; the staff member, who acknowledged, is not")

		jobs = b.escalationJobs(t, m.ID)
		require.Len(t, jobs, 2)
		next := jobs[0]
		if escalateArgsOf(t, next).Round != 2 {
			next = jobs[1]
		}
		require.True(t, next.ScheduledAt.Equal(sentAt.Add(20*time.Minute)), "round 2 at %s", next.ScheduledAt)

		ack(parent)
		b.clock.Advance(10 * time.Minute)
		require.Equal(t, river.EventKindJobCompleted, round(2).Kind)
		require.Len(t, b.escalationDeliveries(t, m.ID), 1, "nobody is left to contact")
		require.Len(t, b.escalationJobs(t, m.ID), 2, "repeat 1: no third round")
	})
}

func escalateArgsOf(t *testing.T, j *rivertype.JobRow) delivery.EscalateArgs {
	t.Helper()
	var a delivery.EscalateArgs
	require.NoError(t, json.Unmarshal(j.EncodedArgs, &a))
	return a
}

// TestReminderHeldByQuietHoursIsWithdrawnAfterAnAck: an escalation
// reminder by text, created at night and held by the district's quiet
// hours, is not sent in the morning to a parent who acknowledged the
// message in the meantime: the delivery is withdrawn, nothing is texted.
func TestReminderHeldByQuietHoursIsWithdrawnAfterAnAck(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		chicago, err := time.LoadLocation("America/Chicago")
		require.NoError(t, err)
		start := b.clock.Now().In(chicago)
		require.Less(t, start.Hour(), 6, "the test starts in the small hours")
		morning := time.Date(start.Year(), start.Month(), start.Day(), 7, 0, 0, 0, chicago)
		b.setSettings(t, `{"quiet_hours_start":"21:00","quiet_hours_end":"07:00"}`)
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(3))

		in := message("Sign the field trip allergy form", []string{parent.ID})
		in.AckRequested = true
		in.Escalation = &whitecross.Escalation{AfterMinutes: 10, Channels: []whitecross.Channel{whitecross.ChannelSMS}, Repeat: 0}
		m := b.send(t, in)
		require.Equal(t, whitecross.MessageSent, m.Status)

		b.clock.Advance(10 * time.Minute)
		b.waitFor(t, "escalation round 1", func(e *river.Event) bool {
			a := escalateArgs(t, e)
			return a.MessageID == m.ID && a.Round == 1
		})
		reminder := b.escalationDeliveries(t, m.ID)[parent.ID+"/SMS/1"]
		require.NotEmpty(t, reminder, "the round queued a text")
		b.waitHeld(t, reminder)

		require.NoError(t, b.st.Acknowledge(b.d.As(parent), m.ID))
		b.driveUntil(t, "the held reminder withdrawn", 15*time.Minute, func() bool {
			return len(b.escalationDeliveries(t, m.ID)) == 0
		})
		require.False(t, b.clock.Now().Before(morning), "withdrawn when quiet hours ended, not before")
		require.Empty(t, b.outbox[whitecross.ChannelSMS].List(capture.Filter{}), "nothing was texted")
		require.Empty(t, b.timeline(t, reminder), "its timeline went with it")
	})
}

// waitHeld waits until the deliver job of a delivery has run once and
// snoozed (quiet hours): it is scheduled again, for later.
func (b *deliverBundle) waitHeld(t *testing.T, deliveryID string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		res, err := b.queue.JobList(context.Background(), river.NewJobListParams().Kinds(delivery.DeliverKind).
			States(rivertype.JobStateScheduled).First(100))
		require.NoError(t, err)
		for _, j := range res.Jobs {
			var a delivery.DeliverArgs
			require.NoError(t, json.Unmarshal(j.EncodedArgs, &a))
			if a.DeliveryID == deliveryID {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the deliver job of %s was never held", deliveryID)
}
