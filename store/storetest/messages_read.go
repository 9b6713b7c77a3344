package storetest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseMessagesRead is the conformance suite of reading messages: who
// may see a message and what they see, the boxes and their keyset
// pagination, counts, read and archive state, threads and the sender's
// delivery reports. Messages are seeded through the real SendMessage.
func exerciseMessagesRead(t *testing.T, open Opener) {
	tests := []subtest{
		{"Visibility", testReadVisibility},
		{"ScheduledInvisibleUntilDispatched", testReadScheduled},
		{"Boxes", testReadBoxes},
		{"Filters", testReadFilters},
		{"PaginationWhileSending", testReadPaginationWhileSending},
		{"ListErrors", testReadListErrors},
		{"Counts", testReadCounts},
		{"ReadAndArchiveState", testReadState},
		{"ReceiptsNeverGoBack", testReadReceiptsStay},
		{"ReplyCountsAsReading", testReadReplyIsReading},
		{"Thread", testReadThread},
		{"SensitiveWithheld", testReadSensitiveWithheld},
		{"Reports", testReadReports},
		{"Unauthenticated", testReadUnauthenticated},
	}
	runSubtests(t, open, tests)
}

// readBundle is what a message-reading test works with.
type readBundle struct {
	db    *store.DB
	st    *store.Store
	clock *Clock
	d     *District
}

func setupRead(t *testing.T, open Opener) *readBundle {
	t.Helper()
	db := open(t)
	clock := NewClock(time.Date(2026, 4, 6, 8, 0, 0, 0, time.UTC))
	db.Now = clock.Now
	st := store.New(db, testHasher{}, newTestVault(t))
	return &readBundle{db: db, st: st, clock: clock, d: SeedDistrict(t, st)}
}

// send sends a message from u to the given users and returns it as sent.
func (b *readBundle) send(t *testing.T, from *whitecross.User, subject string, to ...*whitecross.User) *whitecross.Message {
	t.Helper()
	return b.sendWith(t, from, &whitecross.MessageCreate{Subject: subject, Body: "Body of " + subject}, to...)
}

// sendWith sends in (recipients set from to) from u.
func (b *readBundle) sendWith(t *testing.T, from *whitecross.User, in *whitecross.MessageCreate, to ...*whitecross.User) *whitecross.Message {
	t.Helper()
	for _, u := range to {
		in.RecipientIDs = append(in.RecipientIDs, u.ID)
	}
	m, err := b.st.SendMessage(b.d.As(from), in)
	require.NoError(t, err)
	return m
}

// ids returns the ids of msgs in order.
func messageIDs(msgs []*whitecross.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// sortedIDs returns the ids of users, sorted.
func sortedUserIDs(users ...*whitecross.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	sort.Strings(out)
	return out
}

func testReadVisibility(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	sent := b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{
		Subject: "Lice screening", Body: "Results are in.", Category: whitecross.CategoryHealthUpdate,
		Priority: whitecross.PriorityHigh, Channels: []whitecross.Channel{whitecross.ChannelEmail},
		Attachments: []whitecross.Attachment{{URL: "https://files.example.org/x.pdf", Name: "x.pdf"}},
	}, d.LincolnParent, d.AnnexParent)

	// A recipient sees the message with only their own id.
	m, err := b.st.FindMessageByID(d.As(d.LincolnParent), sent.ID)
	require.NoError(t, err)
	require.Equal(t, sent.ID, m.ID)
	require.Equal(t, sent.ID, m.ThreadID, "a root message is its own thread")
	require.Nil(t, m.ReplyToID)
	require.Equal(t, whitecross.MessageSender{ID: d.LincolnNurse.ID, Name: d.LincolnNurse.Name, Role: whitecross.RoleNurse}, m.Sender)
	require.Equal(t, []string{d.LincolnParent.ID}, m.RecipientIDs, "a recipient must not learn who else got it")
	require.Equal(t, 2, m.RecipientCount)
	require.Nil(t, m.ReadCount, "only the sender sees the read count")
	require.Equal(t, "Lice screening", m.Subject)
	require.Equal(t, "Results are in.", m.Body)
	require.Equal(t, []whitecross.Attachment{{URL: "https://files.example.org/x.pdf", Name: "x.pdf"}}, m.Attachments)
	require.Equal(t, whitecross.CategoryHealthUpdate, m.Category)
	require.Equal(t, whitecross.PriorityHigh, m.Priority)
	require.ElementsMatch(t, []whitecross.Channel{whitecross.ChannelInApp, whitecross.ChannelEmail}, m.Channels)
	require.Equal(t, whitecross.MessageSent, m.Status)
	require.NotNil(t, m.SentAt)
	require.Equal(t, time.UTC, m.CreatedAt.Location())
	require.True(t, m.CreatedAt.Equal(b.clock.Now()))
	require.Nil(t, m.ReadAt)
	require.Nil(t, m.ArchivedAt)

	// The view is audited as a read of PHI by the viewer.
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditMessageRead, e.Action)
	require.Equal(t, "message", e.TargetType)
	require.Equal(t, sent.ID, e.TargetID)
	require.Equal(t, d.LincolnParent.ID, e.ActorID)

	// The sender and a district ADMIN see every recipient and the read count.
	require.NoError(t, b.st.SetRead(d.As(d.AnnexParent), sent.ID, true))
	for _, u := range []*whitecross.User{d.LincolnNurse, d.Admin} {
		m, err := b.st.FindMessageByID(d.As(u), sent.ID)
		require.NoError(t, err, d.Labels[u.ID])
		require.Equal(t, sortedUserIDs(d.LincolnParent, d.AnnexParent), m.RecipientIDs, d.Labels[u.ID])
		require.NotNil(t, m.ReadCount, d.Labels[u.ID])
		require.Equal(t, 1, *m.ReadCount, d.Labels[u.ID])
		require.Nil(t, m.ReadAt, "read_at is the caller's own")
		require.Equal(t, "Lice screening", m.Subject)
	}
	m, err = b.st.FindMessageByID(d.System(), sent.ID)
	require.NoError(t, err)
	require.Len(t, m.RecipientIDs, 2)

	// Everyone else: not found. A SCHOOL_ADMIN gets no PHI access by scope,
	// nor a guardian of another family nor a non-custodial one.
	for _, u := range []*whitecross.User{d.WashingtonParent, d.NonCustodialParent, d.LincolnAdmin, d.LincolnStaff, d.DistrictNurse} {
		_, err := b.st.FindMessageByID(d.As(u), sent.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
		require.Equal(t, "Message not found.", whitecross.ErrorMessage(err), d.Labels[u.ID])
	}
	for _, id := range []string{"not-a-uuid", "", "00000000-0000-0000-0000-000000000000"} {
		_, err := b.st.FindMessageByID(d.As(d.Admin), id)
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}

	// Another district's admin cannot see it by id, nor list it.
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	_, err = b.st.FindMessageByID(other.As(other.Admin), sent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.FindMessageByID(other.System(), sent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	// Upper-case ids are the same message.
	m, err = b.st.FindMessageByID(d.As(d.LincolnParent), upper(sent.ID))
	require.NoError(t, err)
	require.Equal(t, sent.ID, m.ID)

	// A failed view is not audited as a successful one.
	before := len(auditEvents(t, b.st, d.Tenant.ID))
	_, err = b.st.FindMessageByID(d.As(d.WashingtonParent), sent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	require.Len(t, auditEvents(t, b.st, d.Tenant.ID), before)
}

func upper(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c >= 'a' && c <= 'z' {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out)
}

func testReadScheduled(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	ctx := context.Background()
	at := b.clock.Now().Add(time.Hour)
	m := b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "Flu clinic", Body: "Tomorrow.", ScheduledAt: &at}, d.LincolnParent)
	require.Equal(t, whitecross.MessageScheduled, m.Status)

	// The sender sees it in scheduled, not in sent.
	requireBox(t, b, d.LincolnNurse, whitecross.BoxScheduled, m.ID)
	requireBox(t, b, d.LincolnNurse, whitecross.BoxSent)
	got, err := b.st.FindMessageByID(d.As(d.LincolnNurse), m.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageScheduled, got.Status)
	require.True(t, got.ScheduledAt.Equal(at))
	require.Nil(t, got.SentAt)

	// Until dispatched, it does not exist for its recipient.
	parent := d.As(d.LincolnParent)
	_, err = b.st.FindMessageByID(parent, m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.Thread(parent, m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	requireCode(t, b.st.SetRead(parent, m.ID, true), whitecross.ENOTFOUND, "")
	requireCode(t, b.st.SetArchived(parent, m.ID, true), whitecross.ENOTFOUND, "")
	_, err = b.st.Receipts(parent, m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	requireBox(t, b, d.LincolnParent, whitecross.BoxInbox)
	counts, err := b.st.CountMessages(parent)
	require.NoError(t, err)
	require.Equal(t, whitecross.BoxCount{}, counts[whitecross.BoxInbox])

	// Dispatch at its time: now the recipient has it.
	b.clock.Advance(time.Hour)
	done, err := b.st.DispatchMessage(ctx, store.DispatchJob{TenantID: d.Tenant.ID, MessageID: m.ID, RunAt: at, ScheduledAt: &at})
	require.NoError(t, err)
	require.True(t, done)
	got, err = b.st.FindMessageByID(parent, m.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageSent, got.Status)
	require.Equal(t, "Flu clinic", got.Subject)
	requireBox(t, b, d.LincolnParent, whitecross.BoxInbox, m.ID)
	requireBox(t, b, d.LincolnNurse, whitecross.BoxScheduled)
	requireBox(t, b, d.LincolnNurse, whitecross.BoxSent, m.ID)
}

func testReadUnauthenticated(t *testing.T, open Opener) {
	b := setupRead(t, open)
	ctx := context.Background()
	m := b.send(t, b.d.LincolnNurse, "Hello", b.d.LincolnParent)
	_, err := b.st.FindMessageByID(ctx, m.ID)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.ListMessages(ctx, whitecross.MessageFilter{})
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.CountMessages(ctx)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.Thread(ctx, m.ID)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	requireCode(t, b.st.SetRead(ctx, m.ID, true), whitecross.EUNAUTHORIZED, "")
	requireCode(t, b.st.SetArchived(ctx, m.ID, true), whitecross.EUNAUTHORIZED, "")
	_, err = b.st.Deliveries(ctx, m.ID)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	_, err = b.st.Receipts(ctx, m.ID)
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
}
