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

// escalatingQueue is a recordingQueue that also records escalation rounds
// (a store.EscalationQueue), so tests run them by hand, at the times of an
// injected clock, with EscalateMessage.
type escalatingQueue struct {
	recordingQueue
	rounds []store.EscalationJob
}

func (q *escalatingQueue) EnqueueEscalation(ctx context.Context, tx *store.Tx, job store.EscalationJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rounds = append(q.rounds, job)
	return nil
}

// takeRounds returns and forgets the recorded rounds.
func (q *escalatingQueue) takeRounds() []store.EscalationJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.rounds
	q.rounds = nil
	return out
}

// setupEscalation is setupSend with an escalatingQueue.
func setupEscalation(t *testing.T, open Opener) (*sendBundle, *escalatingQueue) {
	t.Helper()
	b := setupSend(t, open, false)
	q := &escalatingQueue{}
	b.st.SetDispatchQueue(q)
	return b, q
}

// escalate runs a round to its end as the worker does, and returns how
// many steps it took.
func escalate(t *testing.T, st *store.Store, job store.EscalationJob) int {
	t.Helper()
	for steps := 1; steps < 100; steps++ {
		done, err := st.EscalateMessage(context.Background(), &job)
		require.NoError(t, err)
		if done {
			return steps
		}
	}
	t.Fatal("the round never ends")
	return 0
}

// attempt is one delivery as escalation tests look at it.
type attempt struct {
	Recipient, Channel, Kind, Status string
	Round                            int
}

// attempts returns the message's deliveries of the given kind.
func attempts(t *testing.T, db *store.DB, messageID string, kind whitecross.AttemptKind) []attempt {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT recipient_id, channel, attempt_kind, round, status FROM deliveries
		WHERE message_id = $1 AND attempt_kind = $2 ORDER BY round, recipient_id, channel`, messageID, string(kind))
	require.NoError(t, err)
	defer rows.Close()
	var out []attempt
	for rows.Next() {
		var a attempt
		require.NoError(t, rows.Scan(&a.Recipient, &a.Channel, &a.Kind, &a.Round, &a.Status))
		a.Recipient = strings.ToLower(a.Recipient)
		out = append(out, a)
	}
	require.NoError(t, rows.Err())
	return out
}

// escalations lists the ESCALATION deliveries expected for users on
// channels in round.
func escalations(round int, chans []whitecross.Channel, users ...*whitecross.User) []attempt {
	var out []attempt
	for _, u := range users {
		for _, c := range chans {
			out = append(out, attempt{Recipient: u.ID, Channel: string(c), Kind: "ESCALATION", Status: "PENDING", Round: round})
		}
	}
	slices.SortFunc(out, func(a, b attempt) int { return strings.Compare(a.Recipient+a.Channel, b.Recipient+b.Channel) })
	return out
}

func testEscalationContactsPending(t *testing.T, open Opener) {
	b, q := setupEscalation(t, open)
	d := b.d
	sentAt := b.clock.Now()
	sms, voice := whitecross.ChannelSMS, whitecross.ChannelVoice
	in := ackMsg("Gas leak: pick up your child", d.LincolnParent, d.AnnexParent, d.LincolnStaff)
	in.Channels = []whitecross.Channel{whitecross.ChannelEmail}
	in.Escalation = &whitecross.Escalation{AfterMinutes: 10, Channels: []whitecross.Channel{sms, voice}, Repeat: 1}
	m := b.send(t, d.LincolnNurse, in)
	require.Equal(t, whitecross.MessageSent, m.Status)
	initial := len(q.takeDeliveries())
	require.Equal(t, 3, initial, "the EMAIL deliveries")

	rounds := q.takeRounds()
	require.Len(t, rounds, 1, "the first round is scheduled when the message is sent")
	r1 := rounds[0]
	require.Equal(t, store.EscalationJob{TenantID: d.Tenant.ID, MessageID: m.ID, Round: 1, RunAt: sentAt.Add(10 * time.Minute)}, r1)

	b.clock.Advance(5 * time.Minute)
	require.NoError(t, b.st.Acknowledge(d.As(d.AnnexParent), m.ID))

	// Too early: nothing happens and the queue is told to try later.
	b.clock.Advance(4 * time.Minute)
	done, err := b.st.EscalateMessage(context.Background(), &r1)
	require.True(t, errors.Is(err, store.ErrNotDue), "%v", err)
	require.False(t, done)
	require.Empty(t, attempts(t, b.db, m.ID, whitecross.AttemptEscalation))

	// Due: the two who did not acknowledge are contacted again on SMS and
	// VOICE; the one who did is not.
	b.clock.Advance(time.Minute)
	require.Equal(t, 1, escalate(t, b.st, r1))
	require.Equal(t, escalations(1, []whitecross.Channel{sms, voice}, d.LincolnParent, d.LincolnStaff),
		attempts(t, b.db, m.ID, whitecross.AttemptEscalation))
	jobs := q.takeDeliveries()
	require.Len(t, jobs, 4, "each goes to a deliver job")
	for _, j := range jobs {
		require.False(t, j.Urgent)
	}
	require.Equal(t, 4, sendCount(t, b.db, `SELECT COUNT(*) FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id
		WHERE d.message_id = $1 AND d.attempt_kind = 'ESCALATION' AND e.status = 'PENDING'`, m.ID),
		"each has its first timeline event")
	require.Equal(t, 1, auditCount(t, b.db, whitecross.AuditMessageEscalated, m.ID))
	rep, err := b.st.Deliveries(d.As(d.LincolnNurse), m.ID)
	require.NoError(t, err)
	kinds := map[whitecross.AttemptKind]int{}
	for _, dl := range rep.Items {
		kinds[dl.AttemptKind]++
		require.Equal(t, dl.AttemptKind == whitecross.AttemptEscalation, dl.Round == 1, "round of %+v", dl)
	}
	require.Equal(t, map[whitecross.AttemptKind]int{whitecross.AttemptInitial: 6, whitecross.AttemptEscalation: 4}, kinds)

	// The next round is scheduled at the same interval.
	rounds = q.takeRounds()
	require.Len(t, rounds, 1)
	r2 := rounds[0]
	require.Equal(t, 2, r2.Round)
	require.True(t, r2.RunAt.Equal(sentAt.Add(20*time.Minute)), "round 2 at %s", r2.RunAt)

	// The round run again (a retried job) adds nothing.
	escalate(t, b.st, r1)
	require.Len(t, attempts(t, b.db, m.ID, whitecross.AttemptEscalation), 4)
	q.takeRounds()

	// The staff member acknowledges before round 2: only the parent is
	// contacted again, and round 2 is the last (repeat 1).
	require.NoError(t, b.st.Acknowledge(d.As(d.LincolnStaff), m.ID))
	b.clock.Advance(10 * time.Minute)
	escalate(t, b.st, r2)
	got := attempts(t, b.db, m.ID, whitecross.AttemptEscalation)
	require.Equal(t, escalations(2, []whitecross.Channel{sms, voice}, d.LincolnParent), got[4:])
	require.Empty(t, q.takeRounds(), "repeat bounds the rounds")

	// A round beyond the last does nothing.
	b.clock.Advance(time.Hour)
	r3 := r2
	r3.Round, r3.Progress = 3, store.EscalationProgress{}
	escalate(t, b.st, r3)
	require.Len(t, attempts(t, b.db, m.ID, whitecross.AttemptEscalation), 6)
}

func testEscalationStops(t *testing.T, open Opener) {
	b, q := setupEscalation(t, open)
	d := b.d
	in := ackMsg("Bus delayed", d.LincolnParent, d.AnnexParent)
	in.Priority = whitecross.PriorityUrgent
	in.Escalation = &whitecross.Escalation{AfterMinutes: 1, Channels: []whitecross.Channel{whitecross.ChannelSMS}, Repeat: whitecross.MaxEscalationRepeat}
	m := b.send(t, d.LincolnNurse, in)
	r1 := q.takeRounds()[0]
	require.True(t, r1.Urgent, "an urgent message escalates in the urgent lane")

	b.clock.Advance(time.Minute)
	escalate(t, b.st, r1)
	for _, j := range q.takeDeliveries() {
		require.True(t, j.Urgent, "and its deliveries go to the urgent lane")
	}
	require.Len(t, attempts(t, b.db, m.ID, whitecross.AttemptEscalation), 2)
	r2 := q.takeRounds()[0]

	// Everyone acknowledges: round 2 contacts nobody and schedules no more.
	require.NoError(t, b.st.Acknowledge(d.As(d.LincolnParent), m.ID))
	require.NoError(t, b.st.Acknowledge(d.As(d.AnnexParent), m.ID))
	b.clock.Advance(time.Minute)
	escalate(t, b.st, r2)
	require.Len(t, attempts(t, b.db, m.ID, whitecross.AttemptEscalation), 2)
	require.Empty(t, q.takeRounds(), "escalation stops once everyone has acknowledged")

	// A message that asks for no escalation, or no acknowledgement,
	// schedules nothing.
	b.send(t, d.LincolnNurse, ackMsg("Ack only", d.LincolnParent))
	b.send(t, d.LincolnNurse, msg("Neither", d.LincolnParent))
	require.Empty(t, q.takeRounds())
}

func testEscalationOtherGuardians(t *testing.T, open Opener) {
	b, q := setupEscalation(t, open)
	d := b.d
	sys := d.System()
	guardian := func(label string) *whitecross.User {
		u, err := b.st.CreateUser(sys, &whitecross.UserCreate{Email: strings.ToLower(strings.ReplaceAll(label, " ", ".")) + "@springfield.example", Name: label, Role: whitecross.RoleGuardian})
		require.NoError(t, err)
		return u
	}
	student := func(name string, at *whitecross.Location, gs ...whitecross.Guardianship) {
		require.NoError(t, b.st.CreateStudent(sys, &whitecross.Student{Name: name, LocationID: at.ID, Grade: "2", Guardians: gs}))
	}
	custody := func(u *whitecross.User, c bool) whitecross.Guardianship {
		return whitecross.Guardianship{UserID: u.ID, Custody: c}
	}
	other := guardian("Olive Other-Parent")
	annexOther := guardian("Anne Annex-Other")
	far := guardian("Fay Far-Parent")
	restricted := guardian("Rex Restricted-Contact")
	// Lincoln parent's second child: another custodial guardian, and two
	// non-custodial contacts, who must never be brought in, though one of
	// them has custody of a child of their own at Lincoln (so the nurse
	// may message them).
	student("Lou Lincoln-Twin", d.Lincoln, custody(d.LincolnParent, true), custody(other, true),
		custody(d.NonCustodialParent, false), custody(restricted, false))
	student("Rita Restricted-Child", d.Lincoln, custody(restricted, true))
	// A child at Washington: its other guardian is beyond the nurse's reach.
	student("Will Washington-Sibling", d.Washington, custody(d.LincolnParent, true), custody(far, true))
	// The Annex parent acknowledges: their child's other guardian stays out.
	student("Ann Annex-Twin", d.Annex, custody(d.AnnexParent, true), custody(annexOther, true))

	in := ackMsg("Fire alarm: students at the field", d.LincolnParent, d.AnnexParent, d.LincolnStaff)
	in.Priority = whitecross.PriorityUrgent
	in.Escalation = &whitecross.Escalation{AfterMinutes: 5, Channels: []whitecross.Channel{whitecross.ChannelSMS}, OtherGuardians: true}
	m := b.send(t, d.LincolnNurse, in)
	r1 := q.takeRounds()[0]
	require.NoError(t, b.st.Acknowledge(d.As(d.AnnexParent), m.ID))
	q.takeDeliveries()

	b.clock.Advance(5 * time.Minute)
	escalate(t, b.st, r1)
	var recipients []string
	for _, r := range sendInboxRows(t, b.db, m.ID) {
		require.NotNil(t, r.deliveredAt, "every recipient has it in their inbox")
		recipients = append(recipients, r.user)
	}
	require.ElementsMatch(t, []string{d.LincolnParent.ID, d.AnnexParent.ID, d.LincolnStaff.ID, other.ID}, recipients,
		"the other custodial guardian is added; never the non-custodial contact, one beyond reach, or one of a guardian who acknowledged")

	sms := []whitecross.Channel{whitecross.ChannelSMS}
	want := escalations(1, sms, d.LincolnParent, d.LincolnStaff, other)
	want = append(want, attempt{Recipient: other.ID, Channel: "IN_APP", Kind: "ESCALATION", Status: "DELIVERED", Round: 1})
	require.ElementsMatch(t, want, attempts(t, b.db, m.ID, whitecross.AttemptEscalation))
	for _, j := range q.takeDeliveries() {
		require.True(t, j.Urgent)
	}

	got, err := b.st.FindMessageByID(d.As(other), m.ID)
	require.NoError(t, err, "the added guardian reads it")
	require.Equal(t, []string{other.ID}, got.RecipientIDs)
	inbox, err := b.st.ListMessages(d.As(other), whitecross.MessageFilter{})
	require.NoError(t, err)
	require.Equal(t, m.ID, inbox.Items[0].ID)
	evs, err := b.st.ReadEvents(context.Background(), d.Tenant.ID, other.ID, 0, 10)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, whitecross.EventMessageCreated, evs[0].Type)
	for _, u := range []*whitecross.User{d.NonCustodialParent, restricted, far, annexOther} {
		_, err = b.st.FindMessageByID(d.As(u), m.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}

	sender, err := b.st.FindMessageByID(d.As(d.LincolnNurse), m.ID)
	require.NoError(t, err)
	require.Equal(t, 4, sender.RecipientCount)
	require.Equal(t, &whitecross.AckSummary{Requested: 4, Acked: 1}, sender.AckSummary)
	require.NoError(t, b.st.Acknowledge(d.As(other), m.ID), "the added guardian may acknowledge")

	// Run again (a retried job): nobody more is added, nothing is sent twice.
	r1.Progress = store.EscalationProgress{}
	escalate(t, b.st, r1)
	require.Len(t, sendInboxRows(t, b.db, m.ID), 4)
	require.Len(t, attempts(t, b.db, m.ID, whitecross.AttemptEscalation), 4)
}

func testEscalationBatches(t *testing.T, open Opener) {
	b, q := setupEscalation(t, open)
	d := b.d
	ctx := context.Background()
	n := 2*store.DispatchBatchSize + 2
	bulk := BulkStaff(t, b.db, d.Tenant.ID, d.Lincoln.ID, n)
	in := &whitecross.MessageCreate{Subject: "Snow day", Body: "b", RecipientIDs: bulk, AckRequested: true,
		Escalation: &whitecross.Escalation{AfterMinutes: 30, Channels: []whitecross.Channel{whitecross.ChannelEmail}}}
	m := b.send(t, d.LincolnNurse, in)
	job := q.take()[0]
	for {
		done, err := b.st.DispatchMessage(ctx, job)
		require.NoError(t, err)
		if done {
			break
		}
	}
	r1 := q.takeRounds()[0]
	require.NoError(t, b.st.Acknowledge(d.As(&whitecross.User{ID: bulk[7], Role: whitecross.RoleStaff}), m.ID))
	b.clock.Advance(30 * time.Minute)

	// One step, then a crash: the retried job starts over and completes
	// the round without sending anything twice.
	first := r1
	done, err := b.st.EscalateMessage(ctx, &first)
	require.NoError(t, err)
	require.False(t, done, "a full batch asks for another step")
	require.Len(t, attempts(t, b.db, m.ID, whitecross.AttemptEscalation), store.DispatchBatchSize)
	require.Equal(t, 3, escalate(t, b.st, r1), "three batches, the first found done already")
	require.Len(t, attempts(t, b.db, m.ID, whitecross.AttemptEscalation), n-1, "everyone but the one who acknowledged")
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND recipient_id = $2
		AND attempt_kind = 'ESCALATION'`, m.ID, bulk[7]))
	require.Equal(t, n-1, sendCount(t, b.db, `SELECT COUNT(DISTINCT d.id) FROM deliveries d JOIN delivery_events e ON e.delivery_id = d.id
		WHERE d.message_id = $1 AND d.attempt_kind = 'ESCALATION'`, m.ID))
	require.Len(t, q.takeRounds(), 0, "repeat 0: one round")
}
