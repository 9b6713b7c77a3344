package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
)

// A dispatch batch runs one statement per table whatever its number of
// recipients and channels (the rows are bound as arrays), and still writes
// every row: each recipient's inbox entry, one delivery and first timeline
// event per channel, and one event-log row with the recipient's next seq.
func TestDispatchBatchStatements(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		key, err := vault.GenerateMasterKey()
		require.NoError(t, err)
		v, err := vault.New(key)
		require.NoError(t, err)
		st := store.New(db, storetest.InsecureHasher(), v)
		st.SetDispatchQueue(acceptQueue{})
		dist := storetest.SeedDistrict(t, st)
		staff := storetest.BulkStaff(t, db, dist.Tenant.ID, dist.Lincoln.ID, store.DispatchBatchSize+500)
		ctx := dist.As(dist.DistrictNurse)
		var perBatch []int
		for _, chans := range [][]whitecross.Channel{{whitecross.ChannelInApp}, {whitecross.ChannelInApp, whitecross.ChannelEmail, whitecross.ChannelSMS}} {
			m, err := st.SendMessage(ctx, &whitecross.MessageCreate{Subject: "Statements", Body: "Counted.",
				RecipientIDs: staff, Channels: chans})
			require.NoError(t, err)
			job := store.DispatchJob{TenantID: dist.Tenant.ID, MessageID: m.ID}
			done, n, err := st.DispatchMessageCountingQueries(t.Context(), job)
			require.NoError(t, err)
			require.False(t, done)
			perBatch = append(perBatch, n)
			// lock, undelivered, inboxes, deliveries, delivery events,
			// seqs, event rows
			require.Equal(t, 7, n, "statements of a batch of %d recipients, channels %v", store.DispatchBatchSize, chans)
			counts := dispatchedRows(t, db, m.ID)
			want := [4]int{store.DispatchBatchSize, store.DispatchBatchSize * len(chans), store.DispatchBatchSize * len(chans), store.DispatchBatchSize + 1}
			// The event-log rows include the sender's, appended at the send.
			require.Equal(t, want, counts, "inboxes, deliveries, delivery events, event-log rows")
			done, _, err = st.DispatchMessageCountingQueries(t.Context(), job)
			require.NoError(t, err)
			require.True(t, done)
			n1 := len(staff)
			require.Equal(t, [4]int{n1, n1 * len(chans), n1 * len(chans), n1 + 1}, dispatchedRows(t, db, m.ID))
		}
		require.Equal(t, perBatch[0], perBatch[1], "statements do not depend on the channels")
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
		require.NoError(t, db.Reader().QueryRow(t.Context(), q, messageID).Scan(&out[i]))
	}
	return out
}
