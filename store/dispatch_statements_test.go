package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// A dispatch batch runs one statement per table whatever its number of
// recipients and channels (the rows are bound as arrays), and still writes
// every row: each recipient's inbox entry, one delivery and first timeline
// event per channel, and one event-log row with the recipient's next seq.
// Every recipient's in-app part (inbox, IN_APP delivery, event) comes
// first; the other channels' deliveries follow in later batches.
func TestDispatchBatchStatements(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st := newTestStore(t, db)
		st.SetDispatchQueue(acceptQueue{})
		dist := storetest.SeedDistrict(t, st)
		const batch, n = store.DispatchBatchSize, store.DispatchBatchSize + 500
		staff := storetest.BulkStaff(t, db, dist.Tenant.ID, dist.Lincoln.ID, n)
		ctx := dist.As(dist.DistrictNurse)
		for _, c := range []struct {
			chans []whitecross.Channel
			// after each step: inboxes, deliveries, delivery events,
			// event-log rows (the sender's included, appended at the send)
			steps [][4]int
		}{
			{[]whitecross.Channel{whitecross.ChannelInApp}, [][4]int{
				{batch, batch, batch, batch + 1}, {n, n, n, n + 1}}},
			{[]whitecross.Channel{whitecross.ChannelInApp, whitecross.ChannelEmail, whitecross.ChannelSMS}, [][4]int{
				{batch, batch, batch, batch + 1}, {n, n, n, n + 1},
				{n, n + 2*batch, n + 2*batch, n + 1}, {n, 3 * n, 3 * n, n + 1}}},
		} {
			m, err := st.SendMessage(ctx, &whitecross.MessageCreate{Subject: "Statements", Body: "Counted.",
				RecipientIDs: staff, Channels: c.chans})
			require.NoError(t, err)
			job := store.DispatchJob{TenantID: dist.Tenant.ID, MessageID: m.ID}
			for i, want := range c.steps {
				done, statements, err := st.DispatchMessageCountingQueries(t.Context(), job)
				require.NoError(t, err)
				require.Equal(t, i == len(c.steps)-1, done, "step %d of %v", i, c.chans)
				require.Equal(t, want, dispatchedRows(t, db, m.ID), "step %d of %v: inboxes, deliveries, delivery events, event-log rows", i, c.chans)
				if i == 0 {
					// lock, undelivered, inboxes, deliveries, delivery
					// events, seqs, events
					require.Equal(t, 7, statements, "statements of a batch of %d recipients, channels %v", batch, c.chans)
				}
			}
		}
	})
}

// dispatchedRows counts a message's delivered inbox rows, deliveries, their
// timeline events and its message.created event-log rows.
func dispatchedRows(t *testing.T, db *store.DB, messageID string) [4]int {
	t.Helper()
	var out [4]int
	for i, q := range []string{
		`SELECT COUNT(*) FROM message_recipients WHERE message_id = $1 AND delivered_at IS NOT NULL AND inbox_key IS NOT NULL`,
		`SELECT COUNT(*) FROM deliveries WHERE message_id = $1`,
		`SELECT COUNT(*) FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id WHERE d.message_id = $1`,
		`SELECT COUNT(*) FROM user_events WHERE message_id = $1 AND type = 'message.created'`,
	} {
		require.NoError(t, db.Reader().QueryRow(store.AllTenants(t.Context()), q, messageID).Scan(&out[i]))
	}
	return out
}
