package delivery_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
)

// sendBundle is a real store dispatching through a real queue, with the
// seeded district and the test clock shared by both.
type sendBundle struct {
	*queueBundle
	st *store.Store
	d  *storetest.District
}

// newSendBundle seeds a district and wires a queue that dispatches through
// the store; start says whether its workers run yet.
func newSendBundle(t testing.TB, db *store.DB, cfg delivery.QueueConfig, start bool) *sendBundle {
	t.Helper()
	st := store.New(db, storetest.InsecureHasher(), testSealer(t))
	if cfg.Deliver.Store == nil {
		cfg.Deliver.Store = st
	}
	qb := newStoppedQueue(t, db, st, cfg)
	st.SetDispatchQueue(qb.queue)
	b := &sendBundle{queueBundle: qb, st: st, d: storetest.SeedDistrict(t, st)}
	if start {
		b.start(t)
	}
	return b
}

// testSealer is a vault with a fresh master key.
func testSealer(t testing.TB) *vault.Vault {
	t.Helper()
	key, err := vault.GenerateMasterKey()
	require.NoError(t, err)
	v, err := vault.New(key)
	require.NoError(t, err)
	return v
}

// send sends from the Lincoln nurse, who may message Lincoln staff.
func (b *sendBundle) send(t testing.TB, in *whitecross.MessageCreate) *whitecross.Message {
	t.Helper()
	return b.sendAs(t, b.d.LincolnNurse, in)
}

// sendAs sends from u: the Lincoln administrator for an EMERGENCY, which a
// nurse may not send.
func (b *sendBundle) sendAs(t testing.TB, u *whitecross.User, in *whitecross.MessageCreate) *whitecross.Message {
	t.Helper()
	m, err := b.st.SendMessage(b.d.As(u), in)
	require.NoError(t, err)
	return m
}

func message(subject string, recipients []string) *whitecross.MessageCreate {
	return &whitecross.MessageCreate{RecipientIDs: recipients, Subject: subject, Body: "Body of " + subject}
}

// status reads a message's status straight from the database.
func (b *sendBundle) status(t testing.TB, id string) whitecross.MessageStatus {
	t.Helper()
	var s string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(context.Background()), "SELECT status FROM messages WHERE id = $1", id).Scan(&s))
	return whitecross.MessageStatus(s)
}

// delivered counts the message's recipients that have it in their inbox.
func (b *sendBundle) delivered(t testing.TB, id string) int {
	t.Helper()
	return count(t, b.db, "SELECT COUNT(*) FROM message_recipients WHERE message_id = $1 AND delivered_at IS NOT NULL", id)
}

// deliveries counts the message's delivery rows.
func (b *sendBundle) deliveries(t testing.TB, id string) int {
	t.Helper()
	return count(t, b.db, "SELECT COUNT(*) FROM deliveries WHERE message_id = $1", id)
}

func count(t testing.TB, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), query, args...).Scan(&n))
	return n
}

// inInbox reports whether user u finds message id in their inbox.
func (b *sendBundle) inInbox(t testing.TB, u *whitecross.User, id string) bool {
	t.Helper()
	ctx := whitecross.NewContextWithActor(context.Background(),
		&whitecross.Actor{UserID: u.ID, TenantID: b.d.Tenant.ID, Role: u.Role, ClientIP: "192.0.2.1"})
	page, err := b.st.ListMessages(ctx, whitecross.MessageFilter{Box: whitecross.BoxInbox})
	require.NoError(t, err)
	for _, m := range page.Items {
		if m.ID == id {
			return true
		}
	}
	return false
}

// staff inserts n active STAFF users at Lincoln with raw SQL (thousands
// through CreateUser would dominate the test) and returns their ids.
func (b *sendBundle) staff(t testing.TB, n int) []string {
	t.Helper()
	return storetest.BulkStaff(t, b.db, b.d.Tenant.ID, b.d.Lincoln.ID, n)
}
