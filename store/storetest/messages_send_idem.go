package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

func testSendIdempotency(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	in := func(hash string) *whitecross.MessageCreate {
		m := msg("Field trip forms", d.LincolnParent, d.AnnexParent)
		m.IdempotencyKey, m.RequestHash = "key-1", []byte(hash)
		return m
	}
	first := b.send(t, d.LincolnNurse, in("h1"))
	before := sendCounts(t, b.db)

	// A replay returns the original and writes nothing (not even audit).
	b.clock.Advance(time.Minute)
	again := b.send(t, d.LincolnNurse, in("h1"))
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, first.Subject, again.Subject)
	require.True(t, first.CreatedAt.Equal(again.CreatedAt))
	require.Equal(t, before, sendCounts(t, b.db))

	// It does so even after a recipient can no longer be reached, or
	// when the request would now be scheduled differently.
	require.NoError(t, b.st.DeactivateUser(d.System(), d.AnnexParent.ID))
	before = sendCounts(t, b.db)
	again = b.send(t, d.LincolnNurse, in("h1"))
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, before, sendCounts(t, b.db))

	// A different request under the same key conflicts.
	_, err := b.st.SendMessage(d.As(d.LincolnNurse), in("h2"))
	requireCode(t, err, whitecross.ECONFLICT, "header.Idempotency-Key")
	require.Contains(t, err.Error(), "different request")
	require.Equal(t, before, sendCounts(t, b.db))

	// Keys are per user: another sender's key-1 is a new message.
	other := msg("Other", d.LincolnParent)
	other.IdempotencyKey, other.RequestHash = "key-1", []byte("h1")
	o := b.send(t, d.LincolnStaff, other)
	require.NotEqual(t, first.ID, o.ID)

	// Replies use the same keys.
	reply := &whitecross.ReplyCreate{Body: "Thanks", IdempotencyKey: "r-1", RequestHash: []byte("rh")}
	r1, err := b.st.Reply(d.As(d.LincolnParent), first.ID, reply)
	require.NoError(t, err)
	before = sendCounts(t, b.db)
	r2, err := b.st.Reply(d.As(d.LincolnParent), first.ID, reply)
	require.NoError(t, err)
	require.Equal(t, r1.ID, r2.ID)
	require.Equal(t, before, sendCounts(t, b.db))
	_, err = b.st.Reply(d.As(d.LincolnParent), first.ID, &whitecross.ReplyCreate{Body: "Other", IdempotencyKey: "r-1", RequestHash: []byte("x")})
	requireCode(t, err, whitecross.ECONFLICT, "header.Idempotency-Key")
}

func testSendIdempotencyConcurrent(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	const n = 8
	run := func(key string, hash func(i int) string) ([]*whitecross.Message, []error) {
		msgs := make([]*whitecross.Message, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				in := msg("Concurrent", d.LincolnParent, d.LincolnStaff)
				in.IdempotencyKey, in.RequestHash = key, []byte(hash(i))
				msgs[i], errs[i] = b.st.SendMessage(d.As(d.LincolnNurse), in)
			})
		}
		close(start)
		wg.Wait()
		return msgs, errs
	}

	// Same request n times at once: one message, every caller gets it.
	msgs, errs := run("same", func(int) string { return "h" })
	for i := range n {
		require.NoError(t, errs[i], "request %d", i)
		require.Equal(t, msgs[0].ID, msgs[i].ID)
	}
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM messages`))
	require.Equal(t, 2, sendCount(t, b.db, `SELECT COUNT(*) FROM message_recipients`))
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM audit_events WHERE action = $1`, whitecross.AuditMessageSent))

	// Different requests under one key at once: one wins, the others
	// conflict; nobody gets an internal error.
	msgs, errs = run("mixed", func(i int) string { return fmt.Sprint(i) })
	won := 0
	for i := range n {
		if errs[i] == nil {
			won++
			require.NotNil(t, msgs[i])
			continue
		}
		requireCode(t, errs[i], whitecross.ECONFLICT, "header.Idempotency-Key")
	}
	require.Equal(t, 1, won)
	require.Equal(t, 2, sendCount(t, b.db, `SELECT COUNT(*) FROM messages`))
}
