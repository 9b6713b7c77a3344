package realtime_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// postgresPair opens two handles on one new, migrated PostgreSQL schema:
// the databases of two instances, and returns the schema's URL.
func postgresPair(t *testing.T) (db1, db2 *store.DB, dsn string) {
	t.Helper()
	ctx := context.Background()
	base := storetest.PostgresURL(t)
	u := storetest.PostgresSchemaURL(base, storetest.NewPostgresSchema(t, base))
	open := func() *store.DB {
		db, err := store.Open(ctx, u)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1, db2 = open(), open()
	_, err := db1.Migrate(ctx)
	require.NoError(t, err)
	return db1, db2, u
}

// TestInstancesShareThroughPostgres: two instances on one database share
// events through LISTEN/NOTIFY.
func TestInstancesShareThroughPostgres(t *testing.T) {
	t.Parallel()
	db1, db2, u := postgresPair(t)
	ctx := context.Background()
	b1, err := realtime.OpenBroker(ctx, "postgres", u)
	require.NoError(t, err)
	b2, err := realtime.OpenBroker(ctx, "postgres", u)
	require.NoError(t, err)
	exerciseTwoInstances(t, db1, db2, b1, b2)
}

// TestInstancesShareThroughRedis: two instances on one database share
// events through Redis pub/sub (a channel of their own).
func TestInstancesShareThroughRedis(t *testing.T) {
	t.Parallel()
	base := redisURL(t)
	db1, db2, _ := postgresPair(t)
	ctx := context.Background()
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("channel", "whitecross-test-"+hex.EncodeToString(suffix[:]))
	u.RawQuery = q.Encode()
	b1, err := realtime.OpenBroker(ctx, u.String(), "")
	require.NoError(t, err)
	b2, err := realtime.OpenBroker(ctx, u.String(), "")
	require.NoError(t, err)
	exerciseTwoInstances(t, db1, db2, b1, b2)
}

// exerciseTwoInstances checks every kind of frame across two instances:
// a user on one receives what is caused on the other, and resumes on the
// other after a disconnection.
func exerciseTwoInstances(t *testing.T, db1, db2 *store.DB, b1, b2 realtime.Broker) {
	b := setup(t, db1, options{broker: b1})
	one := b.first
	two := b.addInstance(t, db2, options{broker: b2})
	d := b.d
	testutil.WaitUntil(t, waitFor, "the instances to hear each other", func() bool {
		return one.gw.Stats().Peers == 1 && two.gw.Stats().Peers == 1
	})

	nurse := b.connect(t, one, d.LincolnNurse)
	staff := b.connect(t, two, d.LincolnStaff)
	// Presence: each sees the other online (announced, or in the snapshot).
	waitPresence(t, nurse, d.LincolnStaff.ID, "online")
	waitPresence(t, staff, d.LincolnNurse.ID, "online")

	// message.created: sent through instance one, to a user on instance two.
	m := b.send(t, one, d.LincolnNurse, "Across instances", d.LincolnStaff)
	f, got := staff.messageCreated(t)
	require.EqualValues(t, 1, f.Seq)
	require.Equal(t, m.ID, got.ID)
	require.Equal(t, "Body of Across instances", got.Body)
	nurse.messageCreated(t)

	// receipt.read: read on instance two, told on instance one.
	staff.send(t, "read", map[string]string{"message_id": m.ID})
	f = nurse.nextOf(t, "receipt.read")
	require.EqualValues(t, 2, f.Seq)

	// typing: from instance two to instance one.
	staff.send(t, "typing", map[string]string{"thread_id": m.ThreadID, "state": "started"})
	f = nurse.nextOf(t, "typing")
	var typ typingData
	f.decode(t, &typ)
	require.Equal(t, typingData{ThreadID: m.ThreadID, UserID: d.LincolnStaff.ID, State: "started"}, typ)

	// Resume on the other instance: missed while away from two, replayed by one.
	_ = staff.ws.CloseNow()
	m2 := b.send(t, two, d.LincolnNurse, "While away", d.LincolnStaff)
	f, got = nurse.messageCreated(t)
	require.EqualValues(t, 3, f.Seq, "the sender's tab on one hears of a send on two")
	require.Equal(t, m2.ID, got.ID)
	token := b.login(t, one, d.LincolnStaff).AccessToken
	back := b.dial(t, one, dialer{header: bearer(token), resume: ptr(int64(1))})
	f, got = back.messageCreated(t)
	require.EqualValues(t, 2, f.Seq)
	require.Equal(t, m2.ID, got.ID)
	require.Empty(t, back.sync(t))

	// Presence offline: the staff member's last connection (now on one)
	// closes; the nurse, also on one, hears it after the grace period. And
	// a nurse tab on two hears it too.
	nurseOnTwo := b.connect(t, two, d.LincolnNurse)
	waitPresence(t, nurseOnTwo, d.LincolnStaff.ID, "online")
	_ = back.ws.CloseNow()
	testutil.WaitUntil(t, waitFor, "instance one to drop the connection", func() bool { return one.gw.Stats().Connections == 1 })
	b.clock.Advance(realtime.DefaultPresenceGrace)
	waitPresence(t, nurse, d.LincolnStaff.ID, "offline")
	waitPresence(t, nurseOnTwo, d.LincolnStaff.ID, "offline")
}

// waitPresence reads c's frames until presence of user with status,
// skipping other presence and typing frames.
func waitPresence(t *testing.T, c *client, user, status string) {
	t.Helper()
	for {
		f := c.nextOf(t, "presence")
		var p presenceData
		f.decode(t, &p)
		if p.UserID == user {
			require.Equal(t, status, p.Status)
			return
		}
	}
}
