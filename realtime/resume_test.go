package realtime_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestResume: events missed while disconnected arrive exactly once and in
// order after resume, then live ones follow without a gap or a repeat,
// also while messages keep arriving during the replay.
func TestResume(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		staff := b.connect(t, b.first, d.LincolnStaff)
		m1 := b.send(t, b.first, d.LincolnNurse, "One", d.LincolnStaff)
		f, _ := staff.messageCreated(t)
		require.EqualValues(t, 1, f.Seq)
		_ = staff.ws.CloseNow()

		var missed []string
		for i := 2; i <= 4; i++ {
			missed = append(missed, b.send(t, b.first, d.LincolnNurse, fmt.Sprint("Missed ", i), d.LincolnStaff).ID)
		}
		token := b.login(t, b.first, d.LincolnStaff).AccessToken
		back := b.dial(t, b.first, dialer{header: bearer(token), resume: ptr(f.Seq)})
		var h helloData
		back.hello.decode(t, &h)
		require.EqualValues(t, 4, h.LastSeq)
		for i, id := range missed {
			f, m := back.messageCreated(t)
			require.EqualValues(t, 2+i, f.Seq)
			require.Equal(t, id, m.ID)
		}
		m5 := b.send(t, b.first, d.LincolnNurse, "Live", d.LincolnStaff)
		f, m := back.messageCreated(t)
		require.EqualValues(t, 5, f.Seq)
		require.Equal(t, m5.ID, m.ID)
		require.Empty(t, back.sync(t), "nothing twice")
		require.NotEqual(t, m1.ID, m5.ID)

		// Resume from seq 2 while 20 more messages are being sent: the
		// replay and the live stream meet without a gap or a repeat.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				_, err := b.first.st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: fmt.Sprint("Burst ", i),
					Body: "b", RecipientIDs: []string{d.LincolnStaff.ID}})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
		during := b.dial(t, b.first, dialer{header: bearer(token), resume: ptr(int64(2))})
		var seqs []int64
		for len(seqs) == 0 || seqs[len(seqs)-1] < 25 {
			f, _ := during.messageCreated(t)
			seqs = append(seqs, f.Seq)
		}
		wg.Wait()
		want := make([]int64, 0, 23)
		for s := int64(3); s <= 25; s++ {
			want = append(want, s)
		}
		require.Equal(t, want, seqs)
		require.Empty(t, during.sync(t))
	})
}

// TestResync: a resume from before the oldest kept event (or from a seq
// the server never gave) gets resync, then the stream goes on from the
// latest seq.
func TestResync(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		b.send(t, b.first, d.LincolnNurse, "Old", d.LincolnStaff)
		b.clock.Advance(store.EventsKeptFor + time.Hour)
		b.send(t, b.first, d.LincolnNurse, "Recent", d.LincolnStaff)
		n, err := b.first.st.PruneEvents(context.Background())
		require.NoError(t, err)
		require.EqualValues(t, 2, n)

		token := b.login(t, b.first, d.LincolnStaff).AccessToken
		c := b.dial(t, b.first, dialer{header: bearer(token), resume: ptr(int64(0))})
		require.Equal(t, "resync", c.nextOf(t, "resync").Type)
		m := b.send(t, b.first, d.LincolnNurse, "After resync", d.LincolnStaff)
		f, got := c.messageCreated(t)
		require.EqualValues(t, 3, f.Seq)
		require.Equal(t, m.ID, got.ID)

		// A seq from the future (another server's, a reset database).
		ahead := b.dial(t, b.first, dialer{header: bearer(token), resume: ptr(int64(99))})
		require.Equal(t, "resync", ahead.nextOf(t, "resync").Type)
		require.Empty(t, ahead.sync(t))

		// The kept part of the log still replays.
		kept := b.dial(t, b.first, dialer{header: bearer(token), resume: ptr(int64(1))})
		f, _ = kept.messageCreated(t)
		require.EqualValues(t, 2, f.Seq)
		f, _ = kept.messageCreated(t)
		require.EqualValues(t, 3, f.Seq)
		require.EqualValues(t, 2, b.first.gw.Stats().Resyncs)
	})
}

// TestHoldUntilFirstFrame: live events that arrive between hello and the
// client's first frame wait for it, so a resume from an older seq gets
// each of them once (not live and again replayed); a client that sends
// nothing gets them when the hold ends.
func TestHoldUntilFirstFrame(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		b.send(t, b.first, d.LincolnNurse, "Before", d.LincolnStaff)
		token := b.login(t, b.first, d.LincolnStaff).AccessToken
		c := b.dial(t, b.first, dialer{header: bearer(token), raw: true})
		require.Equal(t, "hello", c.next(t).Type)
		b.send(t, b.first, d.LincolnNurse, "Between", d.LincolnStaff)
		c.send(t, "resume", map[string]int64{"after_seq": 0})
		b.send(t, b.first, d.LincolnNurse, "After", d.LincolnStaff)
		var subjects []string
		for i := int64(1); i <= 3; i++ {
			f, m := c.messageCreated(t)
			require.Equal(t, i, f.Seq)
			subjects = append(subjects, m.Subject)
		}
		require.Equal(t, []string{"Before", "Between", "After"}, subjects)
		require.Empty(t, c.sync(t))

		quiet := b.dial(t, b.first, dialer{header: bearer(token), raw: true})
		require.Equal(t, "hello", quiet.next(t).Type)
		b.send(t, b.first, d.LincolnNurse, "Held", d.LincolnStaff)
		b.clock.Advance(realtime.DefaultResumeWait)
		f, m := quiet.messageCreated(t)
		require.EqualValues(t, 4, f.Seq)
		require.Equal(t, "Held", m.Subject)
	})
}
