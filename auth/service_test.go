package auth

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
)

const (
	testSlug     = "springfield"
	testEmail    = "Nurse.Joy@Springfield.example"
	testPassword = "correct horse battery"
	testIP       = "203.0.113.7"
)

// countingHasher counts password verifications, to show that every failed
// sign-in does the same hashing work.
type countingHasher struct {
	whitecross.PasswordHasher
	verifies atomic.Int64
}

func (h *countingHasher) VerifyPassword(ctx context.Context, hash, password string) (bool, error) {
	h.verifies.Add(1)
	return h.PasswordHasher.VerifyPassword(ctx, hash, password)
}

type serviceBundle struct {
	ctx    context.Context
	clock  *storetest.Clock
	store  *store.Store
	hasher *countingHasher
	keys   *Keyring
	svc    *Service
	tenant *whitecross.Tenant
	user   *whitecross.User
}

func setupService(t *testing.T, db *store.DB, hasher whitecross.PasswordHasher) *serviceBundle {
	t.Helper()
	ctx := context.Background()
	clock := newTestClock()
	db.Now = clock.Now
	key, err := vault.GenerateMasterKey()
	require.NoError(t, err)
	sealer, err := vault.New(key)
	require.NoError(t, err)
	b := &serviceBundle{ctx: ctx, clock: clock, hasher: &countingHasher{PasswordHasher: hasher}}
	b.store = store.New(db, hasher, sealer)

	b.tenant = &whitecross.Tenant{Slug: testSlug, Name: "Springfield Public Schools"}
	require.NoError(t, b.store.CreateTenant(ctx, b.tenant))
	b.user = b.createUser(t, testEmail, whitecross.RoleAdmin)

	b.keys, err = LoadKeyring(ctx, b.store, clock.Now)
	require.NoError(t, err)
	b.svc = NewService(DefaultConfig("https://wc.example.org/"), Deps{
		Tenants: b.store, Users: b.store, Credentials: b.store, Sessions: b.store,
		Throttle: b.store, Audit: b.store, Hasher: b.hasher, Keys: b.keys, Now: clock.Now,
	})
	return b
}

func (b *serviceBundle) createUser(t *testing.T, email string, role whitecross.Role) *whitecross.User {
	t.Helper()
	u, err := b.store.CreateUser(whitecross.SystemContext(b.ctx, b.tenant.ID), &whitecross.UserCreate{
		Email: email, Name: "Test User", Role: role, Password: testPassword,
	})
	require.NoError(t, err)
	return u
}

func (b *serviceBundle) login(email, password, ip string) (*whitecross.TokenPair, *whitecross.User, error) {
	return b.svc.Login(b.ctx, whitecross.LoginRequest{
		TenantSlug: testSlug, Email: email, Password: password, ClientIP: ip, UserAgent: "test-agent/1.0",
	})
}

func (b *serviceBundle) auditActions(t *testing.T) []*whitecross.AuditEvent {
	t.Helper()
	events, err := b.store.AuditEvents(b.ctx, b.tenant.ID, 0, 1000)
	require.NoError(t, err)
	return events
}

// eventsOf returns the events with action.
func eventsOf(events []*whitecross.AuditEvent, action string) []*whitecross.AuditEvent {
	var out []*whitecross.AuditEvent
	for _, e := range events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, whitecross.ErrorCode(err), "error: %v", err)
}

func TestLoginSucceeds(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		// Email and slug are case-insensitive.
		pair, user, err := b.svc.Login(b.ctx, whitecross.LoginRequest{
			TenantSlug: "SpringField", Email: "  nurse.joy@springfield.EXAMPLE ", Password: testPassword,
			ClientIP: testIP, UserAgent: "test-agent/1.0",
		})
		require.NoError(t, err)
		require.Equal(t, b.user.ID, user.ID)
		require.Equal(t, 900, pair.ExpiresIn)
		require.Len(t, pair.RefreshToken, 43)
		require.NotEmpty(t, pair.SessionID)

		actor, err := b.svc.Authenticate(b.ctx, pair.AccessToken)
		require.NoError(t, err)
		require.Equal(t, &whitecross.Actor{
			UserID: b.user.ID, TenantID: b.tenant.ID, Role: whitecross.RoleAdmin, SessionID: pair.SessionID,
		}, actor)

		ok := eventsOf(b.auditActions(t), whitecross.AuditLoginSucceeded)
		require.Len(t, ok, 1)
		require.Equal(t, b.user.ID, ok[0].ActorID)
		require.Equal(t, testIP, ok[0].ClientIP)
		require.Equal(t, pair.SessionID, ok[0].TargetID)
	})
}

// TestLoginFailuresLookAlike: unknown tenant, unknown user, wrong or empty
// password and a deactivated account give the same error after the same
// hashing work; the audit log records why without the email.
func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		gone := b.createUser(t, "former@springfield.example", whitecross.RoleGuardian)
		require.NoError(t, b.store.DeactivateUser(whitecross.SystemContext(b.ctx, b.tenant.ID), gone.ID))

		attempts := map[string]whitecross.LoginRequest{
			"unknown tenant": {TenantSlug: "shelbyville", Email: testEmail, Password: testPassword},
			"invalid slug":   {TenantSlug: "Not A Slug!", Email: testEmail, Password: testPassword},
			"unknown user":   {TenantSlug: testSlug, Email: "nobody@springfield.example", Password: testPassword},
			"wrong password": {TenantSlug: testSlug, Email: testEmail, Password: testPassword + "!"},
			"empty password": {TenantSlug: testSlug, Email: testEmail, Password: ""},
			"deactivated":    {TenantSlug: testSlug, Email: gone.Email, Password: testPassword},
		}
		want := &whitecross.Error{Code: whitecross.EUNAUTHORIZED, Message: "Invalid tenant, email or password."}
		for name, req := range attempts {
			req.ClientIP = testIP
			before := b.hasher.verifies.Load()
			_, _, err := b.svc.Login(b.ctx, req)
			var got *whitecross.Error
			require.ErrorAs(t, err, &got, name)
			require.Equal(t, want, got, name)
			require.Equal(t, int64(1), b.hasher.verifies.Load()-before, "%s: one password verification", name)
		}

		events := b.auditActions(t)
		failed := eventsOf(events, whitecross.AuditLoginFailed)
		reasons := map[string]string{}
		for _, e := range failed {
			require.Equal(t, whitecross.OutcomeFailure, e.Outcome)
			require.Equal(t, testIP, e.ClientIP)
			reasons[e.Detail["reason"]] += e.ActorID + ";"
		}
		require.Equal(t, map[string]string{
			"unknown_user": ";",
			"bad_password": b.user.ID + ";" + b.user.ID + ";",
			"deactivated":  gone.ID + ";",
		}, reasons, "unknown tenants have no chain; the others are audited with their reason")
		raw, err := json.Marshal(events)
		require.NoError(t, err)
		require.NotContains(t, string(raw), "nobody@")
		require.NotContains(t, string(raw), "Nurse.Joy")
		require.NotContains(t, string(raw), "nurse.joy")
	})
}

// TestStoreKeyringAcrossInstances: two instances on one database; a key
// rotated on one is picked up by the other, and old tokens keep working.
func TestStoreKeyringAcrossInstances(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		before, _, err := b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)

		other, err := LoadKeyring(b.ctx, b.store, b.clock.Now)
		require.NoError(t, err)
		require.Equal(t, b.keys.SignerID(), other.SignerID(), "the second instance loads the stored key")
		require.NoError(t, other.Rotate(b.ctx))
		require.NotEqual(t, b.keys.SignerID(), other.SignerID())
		otherSvc := NewService(DefaultConfig("https://wc.example.org"), Deps{
			Tenants: b.store, Users: b.store, Credentials: b.store, Sessions: b.store,
			Throttle: b.store, Audit: b.store, Hasher: b.hasher, Keys: other, Now: b.clock.Now,
		})
		after, _, err := otherSvc.Login(b.ctx, whitecross.LoginRequest{
			TenantSlug: testSlug, Email: testEmail, Password: testPassword, ClientIP: testIP,
		})
		require.NoError(t, err)

		b.clock.Advance(reloadInterval)
		_, err = b.svc.Authenticate(b.ctx, after.AccessToken)
		require.NoError(t, err, "the first instance reloads the rotated key")
		_, err = otherSvc.Authenticate(b.ctx, before.AccessToken)
		require.NoError(t, err, "the retired key still verifies")

		// A fresh instance (key material unsealed from the store) agrees.
		third, err := LoadKeyring(b.ctx, b.store, b.clock.Now)
		require.NoError(t, err)
		require.Equal(t, other.SignerID(), third.SignerID())
		require.JSONEq(t, string(other.JWKS()), string(third.JWKS()))
	})
}

// TestLoginWithDefaultHasher runs the flow once with the real argon2id
// parameters.
func TestLoginWithDefaultHasher(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, NewArgon2id())
		_, _, err := b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)
		_, _, err = b.login(testEmail, "not the password", testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, _, err = b.login("nobody@springfield.example", testPassword, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
	})
}
