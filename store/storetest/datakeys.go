package storetest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/vault"
)

// exerciseDataKeys is the conformance suite of key rotation: a tenant's
// data key rotated with every sealed thing readable before, during and
// after the re-encryption, and the master key rotated under every data key.
func exerciseDataKeys(t *testing.T, open Opener) {
	runSubtests(t, open, []subtest{
		{"RotateData", testRotateDataKey},
		{"ReencryptResumes", testReencryptResumes},
		{"RotateMaster", testRotateMasterKey},
	})
}

// sealedWorld is a district with one of every sealed thing: messages
// (subject, body, attachments), a TOTP secret, an SSO client secret and a
// queued notice; and a second district that a rotation must not touch.
type sealedWorld struct {
	*sendBundle
	other    *District
	notices  *recordingNotices
	rekeys   *recordingRekeys
	messages map[string]string // id -> subject, both districts
	otherMsg string
}

const (
	worldTOTP   = "JBSWY3DPEHPK3PXP"
	worldSecret = "sso-client-secret-42"
)

func setupSealedWorld(t *testing.T, open Opener, n int) *sealedWorld {
	t.Helper()
	w := &sealedWorld{sendBundle: setupSend(t, open, false), notices: &recordingNotices{}, rekeys: &recordingRekeys{},
		messages: map[string]string{}}
	w.st.SetNoticeQueue(w.notices)
	w.st.SetRekeyQueue(w.rekeys)
	w.other = SeedDistrictSlug(t, w.st, "shelbyville")
	for i := range n {
		w.sendOne(t, fmt.Sprintf("Before %d", i))
	}
	m, err := w.st.SendMessage(w.other.As(w.other.LincolnNurse), msg("Other district", w.other.LincolnParent))
	require.NoError(t, err)
	w.otherMsg, w.messages[m.ID] = m.ID, m.Subject
	ctx := context.Background()
	require.NoError(t, w.st.BeginTOTP(ctx, w.d.Tenant.ID, w.d.LincolnNurse.ID, worldTOTP))
	_, err = w.st.UpdateTenantSettings(w.d.As(w.d.Admin), whitecross.TenantSettings{OIDC: &whitecross.OIDCSettings{
		Issuer: "https://idp.example", ClientID: "c", ClientSecret: worldSecret}})
	require.NoError(t, err)
	require.NoError(t, w.st.IssueSigninCode(ctx, &whitecross.SigninCode{TenantID: w.d.Tenant.ID, UserID: w.d.LincolnNurse.ID,
		Hash: []byte("h"), ExpiresAt: w.clock.Now().Add(10 * time.Minute)},
		&whitecross.Notice{Channel: whitecross.ChannelEmail, To: "nurse@example.org", Subject: "Your code", Text: "Your code is 123456"}))
	return w
}

// sendOne sends a message with an attachment in the first district.
func (w *sealedWorld) sendOne(t *testing.T, subject string) { w.sendVia(t, w.st, subject) }

// sendVia is sendOne through st (another server).
func (w *sealedWorld) sendVia(t *testing.T, st *store.Store, subject string) {
	t.Helper()
	in := msg(subject, w.d.LincolnParent)
	in.Attachments = []whitecross.Attachment{{URL: "https://files.example.org/" + url.PathEscape(subject), Name: subject + ".pdf"}}
	m, err := st.SendMessage(w.d.As(w.d.LincolnNurse), in)
	require.NoError(t, err)
	w.messages[m.ID] = subject
}

// requireReadable opens every sealed thing through st (a fresh Store has
// no cached keys, as another instance or a restarted one).
func (w *sealedWorld) requireReadable(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	for id, subject := range w.messages {
		d := w.d
		if id == w.otherMsg {
			d = w.other
		}
		got, err := st.FindMessageByID(d.As(d.LincolnNurse), id)
		require.NoError(t, err, "message %q", subject)
		require.Equal(t, subject, got.Subject)
		require.Equal(t, "Body of "+subject, got.Body)
		if id != w.otherMsg {
			require.Equal(t, subject+".pdf", got.Attachments[0].Name)
		}
	}
	totp, err := st.FindTOTP(ctx, w.d.Tenant.ID, w.d.LincolnNurse.ID)
	require.NoError(t, err)
	require.Equal(t, worldTOTP, totp.Secret)
	_, o, err := st.TenantOIDC(ctx, w.d.Tenant.Slug)
	require.NoError(t, err)
	require.Equal(t, worldSecret, o.ClientSecret)
	n, err := st.OpenNotice(ctx, w.notices.jobs[0])
	require.NoError(t, err)
	require.Equal(t, "Your code is 123456", n.Text)
}

// status returns the first district's key status.
func (w *sealedWorld) status(t *testing.T) *whitecross.DataKeyStatus {
	t.Helper()
	st, err := w.st.DataKeyStatus(w.d.As(w.d.Admin))
	require.NoError(t, err)
	return st
}

// rows is the status's row count of table sealed by version.
func rows(st *whitecross.DataKeyStatus, table string, version int) int64 {
	for _, r := range st.Rows {
		if r.Table == table && r.Version == version {
			return r.Rows
		}
	}
	return 0
}

// keyAudit returns the tenant's key rotation events as "action detail".
func (w *sealedWorld) keyAudit(t *testing.T, tenantID string) []string {
	t.Helper()
	events, err := w.st.AuditEvents(context.Background(), tenantID, 0, 1000)
	require.NoError(t, err)
	var out []string
	for _, e := range events {
		if strings.HasPrefix(e.Action, "tenant.data_key.") {
			out = append(out, e.Action+" "+string(e.StoredDetail))
		}
	}
	return out
}

// otherSealed is every sealed byte of the second district, to show that a
// rotation leaves it alone.
func (w *sealedWorld) otherSealed(t *testing.T) string {
	t.Helper()
	var keys, content string
	ctx := store.AllTenants(context.Background())
	require.NoError(t, w.db.Reader().QueryRow(ctx, `SELECT CAST(id AS TEXT) || ':' || CAST(version AS TEXT) || ':' || CAST(retired_at IS NULL AS TEXT)
		FROM tenant_keys WHERE tenant_id = $1`, w.other.Tenant.ID).Scan(&keys))
	var s, b []byte
	require.NoError(t, w.db.Reader().QueryRow(ctx, `SELECT subject_sealed, body_sealed FROM messages WHERE id = $1`, w.otherMsg).Scan(&s, &b))
	content = string(s) + string(b)
	return keys + content
}

func testRotateDataKey(t *testing.T, open Opener) {
	w := setupSealedWorld(t, open, 7)
	ctx := context.Background()
	before := w.status(t)
	require.Equal(t, 1, before.Current.Version)
	require.Equal(t, 100, before.ReencryptedPercent())
	require.EqualValues(t, 7, rows(before, "messages", 1))
	otherBefore := w.otherSealed(t)
	// Another server, running since before the rotation with version 1
	// cached.
	running := store.New(w.db, testHasher{}, w.sealer)
	w.requireReadable(t, running)

	k, err := w.st.RotateDataKey(ctx, w.d.Tenant.ID)
	require.NoError(t, err)
	require.Equal(t, 2, k.Version)
	require.Equal(t, []string{w.d.Tenant.ID}, w.rekeys.take(), "the re-encryption job is queued with the rotation")
	w.requireReadable(t, w.st)
	w.requireReadable(t, store.New(w.db, testHasher{}, w.sealer))

	// New writes use version 2 at once, on the other server too.
	w.sendVia(t, running, "After rotation")
	st := w.status(t)
	require.Equal(t, 2, st.Current.Version)
	require.EqualValues(t, 1, rows(st, "messages", 2))
	require.EqualValues(t, 9, st.RowsLeft(), "7 messages, the TOTP secret and the SSO secret")
	require.Equal(t, 10, st.ReencryptedPercent())

	// Half re-encrypted: everything still opens.
	n, err := w.st.ReencryptDataKeys(ctx, w.d.Tenant.ID, 4)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.EqualValues(t, 5, w.status(t).RowsLeft())
	w.requireReadable(t, store.New(w.db, testHasher{}, w.sealer))
	left, _, err := w.st.RetireDataKeys(ctx, w.d.Tenant.ID, time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 5, left)

	for n > 0 {
		n, err = w.st.ReencryptDataKeys(ctx, w.d.Tenant.ID, 4)
		require.NoError(t, err)
	}
	st = w.status(t)
	require.Zero(t, st.RowsLeft())
	require.Equal(t, 100, st.ReencryptedPercent())
	require.EqualValues(t, 8, rows(st, "messages", 2))
	require.EqualValues(t, 1, rows(st, "mfa_totp", 2))
	require.EqualValues(t, 1, rows(st, "tenants.settings.oidc", 2))

	// Retired only once the new key is older than the grace.
	_, wait, err := w.st.RetireDataKeys(ctx, w.d.Tenant.ID, time.Minute)
	require.NoError(t, err)
	require.Positive(t, wait)
	require.Nil(t, w.status(t).Keys[0].RetiredAt)
	w.clock.Advance(wait)
	_, wait, err = w.st.RetireDataKeys(ctx, w.d.Tenant.ID, time.Minute)
	require.NoError(t, err)
	require.Zero(t, wait)
	st = w.status(t)
	require.NotNil(t, st.Keys[0].RetiredAt, "version 1 retired, kept")
	require.Nil(t, st.Keys[1].RetiredAt)
	require.Equal(t, 2, st.Current.Version)
	// The notice queued under version 1 still opens; new writes stay on 2.
	w.requireReadable(t, store.New(w.db, testHasher{}, w.sealer))
	w.sendOne(t, "After retirement")
	require.EqualValues(t, 9, rows(w.status(t), "messages", 2))

	require.Equal(t, otherBefore, w.otherSealed(t), "the other district is untouched")
	require.Equal(t, []string{`tenant.data_key.rotated {"version":"2"}`, `tenant.data_key.retired {"versions":"1"}`}, w.keyAudit(t, w.d.Tenant.ID))
	require.Empty(t, w.keyAudit(t, w.other.Tenant.ID))
	_, err = w.st.DataKeyStatus(w.d.As(w.d.LincolnNurse))
	require.Equal(t, whitecross.EFORBIDDEN, whitecross.ErrorCode(err))
}

// testReencryptResumes: a batch that fails (here its context is cancelled)
// changes nothing, and a new Store (a restarted server) goes on from the
// rows still on the old key, fewer each time, to the end.
func testReencryptResumes(t *testing.T, open Opener) {
	w := setupSealedWorld(t, open, 12)
	ctx := context.Background()
	_, err := w.st.RotateDataKey(ctx, w.d.Tenant.ID)
	require.NoError(t, err)
	n, err := w.st.ReencryptDataKeys(ctx, w.d.Tenant.ID, 5)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	left := w.status(t).RowsLeft()

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = w.st.ReencryptDataKeys(cancelled, w.d.Tenant.ID, 5)
	require.Error(t, err)
	require.Equal(t, left, w.status(t).RowsLeft())

	restarted := store.New(w.db, testHasher{}, w.sealer)
	for {
		n, err := restarted.ReencryptDataKeys(ctx, w.d.Tenant.ID, 5)
		require.NoError(t, err)
		if n == 0 {
			break
		}
		now := w.status(t).RowsLeft()
		require.Less(t, now, left)
		left = now
	}
	require.Zero(t, w.status(t).RowsLeft())
	w.requireReadable(t, store.New(w.db, testHasher{}, w.sealer))
}

// recordingRekeys is a store.RekeyQueue that keeps the tenants it is given.
type recordingRekeys struct {
	mu      sync.Mutex
	tenants []string
}

func (q *recordingRekeys) EnqueueRekey(_ context.Context, _ *store.Tx, tenantID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tenants = append(q.tenants, tenantID)
	return nil
}

func (q *recordingRekeys) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.tenants
	q.tenants = nil
	return out
}

// testRotateMasterKey: re-wrapped under a new master key with both keys
// given, every sealed thing of both districts opens with the new key
// alone; the old key alone fails clearly; a second run has nothing to do;
// a run without the old key, or with neither, changes nothing.
func testRotateMasterKey(t *testing.T, open Opener) {
	w := setupSealedWorld(t, open, 3)
	ctx := context.Background()
	_, err := w.st.RotateDataKey(ctx, w.d.Tenant.ID) // two data keys in the first district
	require.NoError(t, err)
	require.NoError(t, w.st.AddSigningKey(ctx, newTestSigningKey(t, "kid-one", w.clock.Now())))
	oldKey, newKey := w.sealer.(*vault.Vault), newTestVault(t)

	_, err = store.New(w.db, testHasher{}, newKey).RewrapMasterKey(ctx)
	require.ErrorContains(t, err, "both the new and the old master key")
	_, err = store.New(w.db, testHasher{}, vault.NewRing(newKey, newTestVault(t))).RewrapMasterKey(ctx)
	require.ErrorContains(t, err, "cannot open tenant_keys")
	w.requireReadable(t, store.New(w.db, testHasher{}, oldKey))

	rep, err := store.New(w.db, testHasher{}, vault.NewRing(newKey, oldKey)).RewrapMasterKey(ctx)
	require.NoError(t, err)
	require.Equal(t, store.RewrapReport{DataKeys: 3, SigningKeys: 1}, rep)
	for _, k := range w.status(t).Keys {
		require.Equal(t, newKey.KeyID(), k.MasterKeyID)
	}
	rewrapped := `tenant.data_key.rewrapped {"master_key_id":"` + newKey.KeyID() + `"}`
	require.Contains(t, w.keyAudit(t, w.d.Tenant.ID), rewrapped)
	require.Equal(t, []string{rewrapped}, w.keyAudit(t, w.other.Tenant.ID))

	onlyNew := store.New(w.db, testHasher{}, newKey)
	w.requireReadable(t, onlyNew)
	keys, err := onlyNew.SigningKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1)

	onlyOld := store.New(w.db, testHasher{}, oldKey)
	for id := range w.messages {
		_, err := onlyOld.FindMessageByID(w.d.As(w.d.Admin), id)
		if id == w.otherMsg {
			_, err = onlyOld.FindMessageByID(w.other.As(w.other.Admin), id)
		}
		require.ErrorContains(t, err, "wrong master key")
	}
	_, err = onlyOld.SigningKeys(ctx)
	require.ErrorContains(t, err, "wrong master key")

	rep, err = store.New(w.db, testHasher{}, vault.NewRing(newKey, oldKey)).RewrapMasterKey(ctx)
	require.NoError(t, err)
	require.Equal(t, store.RewrapReport{AlreadyCurrent: 4}, rep)
}
