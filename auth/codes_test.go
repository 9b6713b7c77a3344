package auth

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

func TestParseContact(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]whitecross.Channel{
		"Parent@Example.org":    whitecross.ChannelEmail,
		" +15551234567 ":        whitecross.ChannelSMS,
		"+442071838750":         whitecross.ChannelSMS,
		"5551234567":            "",
		"+0123456789":           "",
		"Pat <pat@example.org>": "",
		"not a contact":         "",
	} {
		got, channel, err := parseContact(raw)
		if want == "" {
			var e *whitecross.Error
			require.ErrorAs(t, err, &e, raw)
			require.Equal(t, "body.contact", e.Field, raw)
			continue
		}
		require.NoError(t, err, raw)
		require.Equal(t, want, channel, raw)
		if channel == whitecross.ChannelEmail {
			require.Equal(t, "parent@example.org", got)
		}
	}
}

func TestNewCodeIsSixRandomDigits(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		c, err := newCode()
		require.NoError(t, err)
		require.Regexp(t, `^[0-9]{6}$`, c)
		seen[c] = true
	}
	require.Greater(t, len(seen), 190, "codes repeat far more than chance allows")
}

// TestCodeHashIsKeyedAndBound: a code's stored hash depends on the server's
// key, so a database copy alone cannot test codes, and on the tenant and
// user, so a code is nobody else's.
func TestCodeHashIsKeyedAndBound(t *testing.T) {
	t.Parallel()
	a := NewService(Config{Issuer: "https://wc.example.org"}, Deps{Hasher: storetest.InsecureHasher(), Now: newTestClock().Now})
	b := NewService(Config{Issuer: "https://wc.example.org"}, Deps{Hasher: storetest.InsecureHasher(), Now: newTestClock().Now})
	const tenant, user, other = "t1", "u1", "u2"
	require.Equal(t, a.codeHash(tenant, user, "123456"), a.codeHash(tenant, user, "123456"))
	require.NotEqual(t, a.codeHash(tenant, user, "123456"), b.codeHash(tenant, user, "123456"), "another key")
	require.NotEqual(t, a.codeHash(tenant, user, "123456"), a.codeHash(tenant, other, "123456"), "another user")
	require.NotEqual(t, a.codeHash(tenant, user, "123456"), a.codeHash("t2", user, "123456"), "another tenant")
}

// countingSignin records what the service asks of the store.
type countingSignin struct {
	whitecross.SigninStore
	mu     sync.Mutex
	issued []*whitecross.SigninCode
	spent  int
}

func (c *countingSignin) IssueSigninCode(ctx context.Context, code *whitecross.SigninCode, n *whitecross.Notice) error {
	c.mu.Lock()
	c.issued = append(c.issued, code)
	c.mu.Unlock()
	return c.SigninStore.IssueSigninCode(ctx, code, n)
}

func (c *countingSignin) SpendSigninCode(ctx context.Context, tenantID, userID string, hash []byte, tries int) error {
	c.mu.Lock()
	c.spent++
	c.mu.Unlock()
	return c.SigninStore.SpendSigninCode(ctx, tenantID, userID, hash, tries)
}

// TestUnknownContactsDoTheSameWork: a request for an unknown contact goes
// to the store like a known one (a hashed code for nobody), and a code
// tried for an unknown contact is looked up like a wrong one, so neither
// answer nor work tells the two apart.
func TestUnknownContactsDoTheSameWork(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, storetest.InsecureHasher())
		counter := &countingSignin{SigninStore: b.store}
		svc := NewService(DefaultConfig("https://wc.example.org/"), Deps{
			Tenants: b.store, Users: b.store, Credentials: b.store, Sessions: b.store, Throttle: b.store, Audit: b.store,
			Hasher: b.hasher, Signin: counter, Keys: b.keys, Now: b.clock.Now,
		})
		for _, contact := range []string{testEmail, "nobody@springfield.example", "+15550009999"} {
			require.NoError(t, svc.RequestCode(b.ctx, whitecross.CodeRequest{TenantSlug: testSlug, Contact: contact, ClientIP: testIP}))
			_, _, err := svc.LoginWithCode(b.ctx, whitecross.CodeLogin{TenantSlug: testSlug, Contact: contact, Code: "000000", ClientIP: testIP})
			require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err), contact)
			require.Equal(t, errInvalidCode.Error(), err.Error(), "one answer for %s", contact)
		}
		require.Len(t, counter.issued, 3, "a code is issued to the store for every contact")
		require.Equal(t, 3, counter.spent, "a code is looked up for every contact")
		require.Equal(t, b.user.ID, counter.issued[0].UserID)
		require.Empty(t, counter.issued[1].UserID)
		require.False(t, bytes.Equal(counter.issued[1].Hash, counter.issued[2].Hash), "a fresh code each time")
	})
}
