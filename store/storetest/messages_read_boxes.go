package storetest

import (
	"encoding/base64"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// listAllMessages follows every page of ListMessages as u.
func listAllMessages(t *testing.T, b *readBundle, u *whitecross.User, f whitecross.MessageFilter) []*whitecross.Message {
	t.Helper()
	return allPages(t, f.Limit, func() ([]*whitecross.Message, string, error) {
		page, err := b.st.ListMessages(b.d.As(u), f)
		if err != nil {
			return nil, "", err
		}
		f.Cursor = page.NextCursor
		return page.Items, page.NextCursor, nil
	})
}

// requireBox asserts that u's box holds exactly want, newest first.
func requireBox(t *testing.T, b *readBundle, u *whitecross.User, box whitecross.Box, want ...string) {
	t.Helper()
	requireList(t, b, u, whitecross.MessageFilter{Box: box}, want...)
}

// requireList asserts that listing f as u returns exactly want, in order.
func requireList(t *testing.T, b *readBundle, u *whitecross.User, f whitecross.MessageFilter, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	require.Equal(t, want, messageIDs(listAllMessages(t, b, u, f)), "%s %+v", b.d.Labels[u.ID], f)
}

// reversed returns ids newest first.
func reversed(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

func testReadBoxes(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	var toParent []string
	for i, from := range []*whitecross.User{d.LincolnNurse, d.LincolnStaff, d.DistrictNurse, d.LincolnNurse} {
		b.clock.Advance(time.Minute)
		toParent = append(toParent, b.send(t, from, "m"+string(rune('0'+i)), d.LincolnParent, d.AnnexParent).ID)
	}
	b.clock.Advance(time.Minute)
	other := b.send(t, d.LincolnNurse, "to staff", d.LincolnStaff).ID

	requireBox(t, b, d.LincolnParent, whitecross.BoxInbox, reversed(toParent...)...)
	requireBox(t, b, d.LincolnParent, "", reversed(toParent...)...) // inbox is the default
	requireBox(t, b, d.LincolnParent, whitecross.BoxArchived)
	requireBox(t, b, d.LincolnParent, whitecross.BoxSent)
	requireBox(t, b, d.LincolnNurse, whitecross.BoxSent, other, toParent[3], toParent[0])
	requireBox(t, b, d.LincolnNurse, "SENT", other, toParent[3], toParent[0]) // box is case-insensitive
	requireBox(t, b, d.LincolnNurse, whitecross.BoxInbox)
	requireBox(t, b, d.LincolnStaff, whitecross.BoxInbox, other)
	requireBox(t, b, d.LincolnStaff, whitecross.BoxSent, toParent[1])
	requireBox(t, b, d.WashingtonParent, whitecross.BoxInbox)
	requireBox(t, b, d.Admin, whitecross.BoxInbox) // admins see messages by id, not in their inbox

	// Archiving moves a message to the archived box and back.
	parent := d.As(d.LincolnParent)
	require.NoError(t, b.st.SetArchived(parent, toParent[1], true))
	require.NoError(t, b.st.SetArchived(parent, toParent[3], true))
	requireBox(t, b, d.LincolnParent, whitecross.BoxInbox, toParent[2], toParent[0])
	requireBox(t, b, d.LincolnParent, whitecross.BoxArchived, toParent[3], toParent[1])
	requireBox(t, b, d.AnnexParent, whitecross.BoxInbox, reversed(toParent...)...) // archive is per recipient
	require.NoError(t, b.st.SetArchived(parent, toParent[3], false))
	requireBox(t, b, d.LincolnParent, whitecross.BoxInbox, toParent[3], toParent[2], toParent[0])

	// List items: a recipient sees only their own id; the sender all
	// (capped), with the read count; content decrypted; caller's state.
	require.NoError(t, b.st.SetRead(parent, toParent[3], true))
	items := listAllMessages(t, b, d.LincolnParent, whitecross.MessageFilter{})
	require.Equal(t, []string{d.LincolnParent.ID}, items[0].RecipientIDs)
	require.Equal(t, 2, items[0].RecipientCount)
	require.Nil(t, items[0].ReadCount)
	require.Equal(t, "m3", items[0].Subject)
	require.Equal(t, "Body of m3", items[0].Body)
	require.NotNil(t, items[0].ReadAt)
	require.Nil(t, items[1].ReadAt)
	require.Equal(t, d.LincolnNurse.Name, items[0].Sender.Name)
	sent := listAllMessages(t, b, d.LincolnNurse, whitecross.MessageFilter{Box: whitecross.BoxSent})
	require.Equal(t, sortedUserIDs(d.LincolnParent, d.AnnexParent), sent[1].RecipientIDs)
	require.Equal(t, 1, *sent[1].ReadCount)
	require.Equal(t, 0, *sent[0].ReadCount)
	require.Nil(t, sent[1].ReadAt, "the sender has no read state")
	archived := listAllMessages(t, b, d.LincolnParent, whitecross.MessageFilter{Box: whitecross.BoxArchived})
	require.NotNil(t, archived[0].ArchivedAt)

	// Each page listed is one message.read event naming its messages.
	reads := 0
	for _, e := range auditEvents(t, b.st, d.Tenant.ID) {
		if e.Action == whitecross.AuditMessageRead {
			require.Equal(t, "list", e.Detail["via"])
			require.NotEmpty(t, e.Detail["message_ids"])
			reads++
		}
	}
	require.Positive(t, reads)

	// Scheduled box: the sender's waiting messages only, newest first.
	at1, at2 := b.clock.Now().Add(time.Hour), b.clock.Now().Add(2*time.Hour)
	s1 := b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "later", Body: "x", ScheduledAt: &at2}, d.LincolnParent).ID
	s2 := b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "sooner", Body: "x", ScheduledAt: &at1}, d.LincolnParent).ID
	requireBox(t, b, d.LincolnNurse, whitecross.BoxScheduled, s2, s1)
	requireBox(t, b, d.LincolnNurse, whitecross.BoxSent, other, toParent[3], toParent[0])
	requireBox(t, b, d.LincolnParent, whitecross.BoxInbox, toParent[3], toParent[2], toParent[0])
}

func testReadFilters(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	t0 := b.clock.Now()
	send := func(from *whitecross.User, cat whitecross.Category, prio whitecross.Priority) string {
		b.clock.Advance(time.Minute)
		return b.sendWith(t, from, &whitecross.MessageCreate{Subject: "s", Body: "b", Category: cat, Priority: prio}, d.LincolnParent).ID
	}
	m1 := send(d.LincolnNurse, whitecross.CategoryMedication, whitecross.PriorityLow)
	m2 := send(d.LincolnStaff, whitecross.CategoryMedication, whitecross.PriorityHigh)
	m3 := send(d.LincolnNurse, whitecross.CategoryGeneral, whitecross.PriorityHigh)
	m4 := send(d.Admin, whitecross.CategoryEmergency, whitecross.PriorityUrgent) // only administrators send EMERGENCY
	p := d.LincolnParent

	requireList(t, b, p, whitecross.MessageFilter{Category: whitecross.CategoryMedication}, m2, m1)
	requireList(t, b, p, whitecross.MessageFilter{Category: "medication"}, m2, m1)
	requireList(t, b, p, whitecross.MessageFilter{Priority: whitecross.PriorityHigh}, m3, m2)
	requireList(t, b, p, whitecross.MessageFilter{Priority: "high", Category: "general"}, m3)
	requireList(t, b, p, whitecross.MessageFilter{SenderID: d.LincolnNurse.ID}, m3, m1)
	requireList(t, b, p, whitecross.MessageFilter{SenderID: upper(d.LincolnNurse.ID)}, m3, m1)
	requireList(t, b, p, whitecross.MessageFilter{SenderID: d.WashingtonNurse.ID})
	requireList(t, b, p, whitecross.MessageFilter{Category: whitecross.CategoryImmunization})

	// since is inclusive, until exclusive, on the delivery time.
	at := func(n int) *time.Time { v := t0.Add(time.Duration(n) * time.Minute); return &v }
	requireList(t, b, p, whitecross.MessageFilter{Since: at(2)}, m4, m3, m2)
	requireList(t, b, p, whitecross.MessageFilter{Until: at(2)}, m1)
	requireList(t, b, p, whitecross.MessageFilter{Since: at(2), Until: at(4)}, m3, m2)
	requireList(t, b, p, whitecross.MessageFilter{Since: at(3), Until: at(3)})
	requireList(t, b, d.LincolnNurse, whitecross.MessageFilter{Box: whitecross.BoxSent, Since: at(2)}, m3)
	requireList(t, b, d.LincolnNurse, whitecross.MessageFilter{Box: whitecross.BoxSent, Until: at(2)}, m1)

	// unread, in the inbox and in the archive.
	require.NoError(t, b.st.SetRead(d.As(p), m2, true))
	require.NoError(t, b.st.SetRead(d.As(p), m4, true))
	requireList(t, b, p, whitecross.MessageFilter{Unread: true}, m3, m1)
	require.NoError(t, b.st.SetArchived(d.As(p), m1, true))
	require.NoError(t, b.st.SetArchived(d.As(p), m2, true))
	requireList(t, b, p, whitecross.MessageFilter{Unread: true}, m3)
	requireList(t, b, p, whitecross.MessageFilter{Box: whitecross.BoxArchived, Unread: true}, m1)
	requireList(t, b, p, whitecross.MessageFilter{Box: whitecross.BoxArchived, Category: "medication", Priority: "HIGH"}, m2)

	// Filters hold across pages.
	requireList(t, b, p, whitecross.MessageFilter{Limit: 1, Box: whitecross.BoxArchived}, m2, m1)
	requireList(t, b, d.LincolnNurse, whitecross.MessageFilter{Limit: 1, Box: whitecross.BoxSent, Priority: "high"}, m3)
}

func testReadListErrors(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	for range 3 {
		b.send(t, d.LincolnNurse, "x", d.LincolnParent)
	}
	ctx := d.As(d.LincolnParent)
	inbox, err := b.st.ListMessages(ctx, whitecross.MessageFilter{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, inbox.NextCursor)
	sent, err := b.st.ListMessages(d.As(d.LincolnNurse), whitecross.MessageFilter{Box: whitecross.BoxSent, Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, sent.NextCursor)

	for _, tc := range []struct {
		f     whitecross.MessageFilter
		field string
	}{
		{whitecross.MessageFilter{Limit: 101}, "query.limit"},
		{whitecross.MessageFilter{Limit: -1}, "query.limit"},
		{whitecross.MessageFilter{Box: "trash"}, "query.box"},
		{whitecross.MessageFilter{Category: "GOSSIP"}, "query.category"},
		{whitecross.MessageFilter{Priority: "SOON"}, "query.priority"},
		{whitecross.MessageFilter{SenderID: "nurse"}, "query.sender_id"},
		{whitecross.MessageFilter{Since: ptr(time.Now()), Until: ptr(time.Now().Add(-time.Hour))}, "query.until"},
		{whitecross.MessageFilter{Cursor: "!!!"}, "query.cursor"},
		{whitecross.MessageFilter{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`["inbox","not-a-uuid"]`))}, "query.cursor"},
		{whitecross.MessageFilter{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"a":1}`))}, "query.cursor"},
		{whitecross.MessageFilter{Cursor: sent.NextCursor}, "query.cursor"},                                // a sent cursor in the inbox
		{whitecross.MessageFilter{Box: whitecross.BoxArchived, Cursor: inbox.NextCursor}, "query.cursor"},  // an inbox cursor in the archive
		{whitecross.MessageFilter{Box: whitecross.BoxScheduled, Cursor: inbox.NextCursor}, "query.cursor"}, // an inbox cursor in scheduled
	} {
		_, err := b.st.ListMessages(ctx, tc.f)
		requireCode(t, err, whitecross.EINVALID, tc.field)
	}
	page, err := b.st.ListMessages(ctx, whitecross.MessageFilter{Cursor: inbox.NextCursor, Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	require.Empty(t, page.NextCursor)
	page, err = b.st.ListMessages(ctx, whitecross.MessageFilter{})
	require.NoError(t, err)
	require.Len(t, page.Items, 3)
	require.Empty(t, page.NextCursor, "an exactly full last page has no cursor")
	page, err = b.st.ListMessages(ctx, whitecross.MessageFilter{Limit: 3})
	require.NoError(t, err)
	require.Len(t, page.Items, 3)
	require.Empty(t, page.NextCursor, "an exactly full last page has no cursor")
}

// testReadPaginationWhileSending pages through a recipient's inbox and the
// sender's sent box while another goroutine keeps sending: every message
// that existed before paging began must come exactly once, and no message
// twice.
func testReadPaginationWhileSending(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	const before = 45
	var existing []string
	for i := range before {
		if i%3 == 0 {
			b.clock.Advance(time.Second) // some messages share a timestamp
		}
		existing = append(existing, b.send(t, d.LincolnNurse, "old", d.LincolnParent, d.AnnexParent).ID)
	}

	// The sender goroutine sends one message per request, so that new
	// messages arrive between every two pages.
	more := make(chan chan string)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for reply := range more {
			m, err := b.st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{
				Subject: "new", Body: "new", RecipientIDs: []string{d.LincolnParent.ID}})
			if err != nil {
				reply <- "error: " + err.Error()
				continue
			}
			reply <- m.ID
		}
	}()
	defer func() { close(more); wg.Wait() }()
	sendOne := func() string {
		reply := make(chan string)
		more <- reply
		id := <-reply
		require.NotContains(t, id, "error:")
		return id
	}

	for _, tc := range []struct {
		user *whitecross.User
		box  whitecross.Box
	}{{d.LincolnParent, whitecross.BoxInbox}, {d.LincolnNurse, whitecross.BoxSent}} {
		seen := map[string]int{}
		f := whitecross.MessageFilter{Box: tc.box, Limit: 7}
		sentDuring := 0
		for range 100 {
			page, err := b.st.ListMessages(d.As(tc.user), f)
			require.NoError(t, err)
			for _, m := range page.Items {
				seen[m.ID]++
			}
			// Two new messages between pages, one of them while a page
			// would be read concurrently by a second listing.
			var lister sync.WaitGroup
			lister.Add(1)
			go func() {
				defer lister.Done()
				_, _ = b.st.ListMessages(d.As(tc.user), f)
			}()
			sendOne()
			lister.Wait()
			sendOne()
			sentDuring += 2
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		for id, n := range seen {
			require.Equal(t, 1, n, "%s: message %s listed %d times", tc.box, id, n)
		}
		for _, id := range existing {
			require.Equal(t, 1, seen[id], "%s: message %s that existed before paging was skipped", tc.box, id)
		}
		require.Greater(t, sentDuring, 10)
		// The new ones are on a fresh first page, newest first.
		fresh := listAllMessages(t, b, tc.user, whitecross.MessageFilter{Box: tc.box, Limit: 100})
		require.GreaterOrEqual(t, len(fresh), before+sentDuring)
		require.Equal(t, existing[before-1], fresh[len(fresh)-before].ID)
	}
}

func testReadCounts(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	p := d.As(d.LincolnParent)
	counts, err := b.st.CountMessages(p)
	require.NoError(t, err)
	require.Equal(t, map[whitecross.Box]whitecross.BoxCount{
		whitecross.BoxInbox: {}, whitecross.BoxArchived: {}, whitecross.BoxSent: {}, whitecross.BoxScheduled: {},
	}, counts)

	var ids []string
	for range 5 {
		ids = append(ids, b.send(t, d.LincolnNurse, "x", d.LincolnParent).ID)
	}
	at := b.clock.Now().Add(time.Hour)
	b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "later", Body: "x", ScheduledAt: &at}, d.LincolnParent)
	reply, err := b.st.Reply(p, ids[0], &whitecross.ReplyCreate{Body: "Thanks"})
	require.NoError(t, err)
	require.NoError(t, b.st.SetRead(p, ids[0], true))
	require.NoError(t, b.st.SetRead(p, ids[1], true))
	require.NoError(t, b.st.SetArchived(p, ids[1], true))
	require.NoError(t, b.st.SetArchived(p, ids[2], true))

	counts, err = b.st.CountMessages(p)
	require.NoError(t, err)
	require.Equal(t, map[whitecross.Box]whitecross.BoxCount{
		whitecross.BoxInbox:     {Total: 3, Unread: 2},
		whitecross.BoxArchived:  {Total: 2, Unread: 1},
		whitecross.BoxSent:      {Total: 1},
		whitecross.BoxScheduled: {},
	}, counts)
	counts, err = b.st.CountMessages(d.As(d.LincolnNurse))
	require.NoError(t, err)
	require.Equal(t, map[whitecross.Box]whitecross.BoxCount{
		whitecross.BoxInbox:     {Total: 1, Unread: 1}, // the reply
		whitecross.BoxArchived:  {},
		whitecross.BoxSent:      {Total: 5},
		whitecross.BoxScheduled: {Total: 1},
	}, counts)
	requireBox(t, b, d.LincolnNurse, whitecross.BoxInbox, reply.ID)
}
