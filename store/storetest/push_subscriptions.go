package storetest

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/netguard"
	"whitecross/store"
)

func exercisePushSubscriptions(t *testing.T, open Opener) {
	tests := []subtest{
		{"SaveListDelete", testPushSaveListDelete},
		{"Validation", testPushValidation},
		{"EndpointMovesToCaller", testPushEndpointMoves},
		{"OldestDropped", testPushOldestDropped},
		{"CallerRequired", testPushCallerRequired},
		{"NonPublicEndpointsRefused", testPushNonPublicEndpointsRefused},
		{"AllowedHosts", testPushAllowedHosts},
	}
	runSubtests(t, open, tests)
}

type pushBundle struct {
	db    *store.DB
	st    *store.Store
	clock *Clock
	d     *District
	other *District
}

func setupPush(t *testing.T, open Opener) *pushBundle {
	t.Helper()
	db := open(t)
	clock := NewClock(time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC))
	db.Now = clock.Now
	st := store.New(db, testHasher{}, newTestVault(t))
	st.SetPushGuard(netguard.Guard{Resolver: TestResolver{}})
	return &pushBundle{db: db, st: st, clock: clock, d: SeedDistrict(t, st), other: SeedDistrictSlug(t, st, "shelbyville")}
}

// NewPushSubscription returns a subscription as a browser makes one: the
// endpoint of a push service and fresh keys, base64url without padding.
func NewPushSubscription(t testing.TB, endpoint string) *whitecross.PushSubscription {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	return &whitecross.PushSubscription{
		Endpoint: endpoint,
		P256dh:   base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(secret),
	}
}

func (b *pushBundle) list(t *testing.T, d *District, u *whitecross.User) []*whitecross.PushSubscription {
	t.Helper()
	subs, err := b.st.ListPushSubscriptions(d.As(u))
	require.NoError(t, err)
	return subs
}

func testPushSaveListDelete(t *testing.T, open Opener) {
	b := setupPush(t, open)
	d := b.d
	nurse := d.As(d.LincolnNurse)
	require.Empty(t, b.list(t, d, d.LincolnNurse))

	sub := NewPushSubscription(t, "https://fcm.googleapis.com/fcm/send/abc:def")
	sub.UserAgent = "Mozilla/5.0 (X11; Linux x86_64)\x00\n"
	require.NoError(t, b.st.SavePushSubscription(nurse, sub))
	require.NotEmpty(t, sub.ID)
	require.Equal(t, d.LincolnNurse.ID, sub.UserID)
	require.True(t, sub.CreatedAt.Equal(b.clock.Now()))

	b.clock.Advance(time.Minute)
	second := NewPushSubscription(t, "https://updates.push.services.mozilla.com/wpush/v2/gAAAA")
	require.NoError(t, b.st.SavePushSubscription(nurse, second))

	subs := b.list(t, d, d.LincolnNurse)
	require.Len(t, subs, 2)
	require.Equal(t, second.ID, subs[0].ID, "newest first")
	got := subs[1]
	require.Equal(t, sub.ID, got.ID)
	require.Equal(t, d.LincolnNurse.ID, got.UserID)
	require.Equal(t, sub.Endpoint, got.Endpoint)
	require.Equal(t, sub.P256dh, got.P256dh)
	require.Equal(t, sub.Auth, got.Auth)
	require.Equal(t, "Mozilla/5.0 (X11; Linux x86_64)", got.UserAgent, "control characters dropped")
	require.True(t, got.CreatedAt.Equal(sub.CreatedAt))
	require.Empty(t, b.list(t, d, d.LincolnStaff), "others see none of them")

	// Another user of the district, or of another district, cannot delete it.
	for _, ctx := range []context.Context{d.As(d.Admin), d.As(d.LincolnStaff), b.other.As(b.other.Admin)} {
		err := b.st.DeletePushSubscription(ctx, sub.ID)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
	}
	require.Len(t, b.list(t, d, d.LincolnNurse), 2)

	require.NoError(t, b.st.DeletePushSubscription(nurse, strings.ToUpper(sub.ID)), "ids are case-insensitive")
	subs = b.list(t, d, d.LincolnNurse)
	require.Len(t, subs, 1)
	require.Equal(t, second.ID, subs[0].ID)
	for _, id := range []string{sub.ID, "not-a-uuid", ""} {
		err := b.st.DeletePushSubscription(nurse, id)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), id)
	}
}

func testPushValidation(t *testing.T, open Opener) {
	b := setupPush(t, open)
	d := b.d
	good := NewPushSubscription(t, "https://push.example.net/s/1")
	long := "https://push.example.net/" + strings.Repeat("a", store.MaxPushEndpointLength)
	uncompressedOffCurve := base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...))
	compressed := base64.RawURLEncoding.EncodeToString(append([]byte{2}, make([]byte, 32)...))
	for _, c := range []struct {
		name, field string
		change      func(s *whitecross.PushSubscription)
	}{
		{"no endpoint", "body.endpoint", func(s *whitecross.PushSubscription) { s.Endpoint = "" }},
		{"http endpoint", "body.endpoint", func(s *whitecross.PushSubscription) { s.Endpoint = "http://push.example.net/s/1" }},
		{"relative endpoint", "body.endpoint", func(s *whitecross.PushSubscription) { s.Endpoint = "/s/1" }},
		{"endpoint with credentials", "body.endpoint", func(s *whitecross.PushSubscription) { s.Endpoint = "https://u:p@push.example.net/s" }},
		{"endpoint with a space", "body.endpoint", func(s *whitecross.PushSubscription) { s.Endpoint = "https://push.example.net/s 1" }},
		{"endpoint too long", "body.endpoint", func(s *whitecross.PushSubscription) { s.Endpoint = long }},
		{"no p256dh", "body.keys.p256dh", func(s *whitecross.PushSubscription) { s.P256dh = "" }},
		{"p256dh not base64url", "body.keys.p256dh", func(s *whitecross.PushSubscription) { s.P256dh = "not+base64/url!" }},
		{"p256dh compressed", "body.keys.p256dh", func(s *whitecross.PushSubscription) { s.P256dh = compressed }},
		{"p256dh off the curve", "body.keys.p256dh", func(s *whitecross.PushSubscription) { s.P256dh = uncompressedOffCurve }},
		{"no auth", "body.keys.auth", func(s *whitecross.PushSubscription) { s.Auth = "" }},
		{"auth too short", "body.keys.auth", func(s *whitecross.PushSubscription) { s.Auth = base64.RawURLEncoding.EncodeToString(make([]byte, 8)) }},
		{"auth not base64url", "body.keys.auth", func(s *whitecross.PushSubscription) { s.Auth = "****" }},
	} {
		sub := *good
		c.change(&sub)
		err := b.st.SavePushSubscription(d.As(d.LincolnNurse), &sub)
		var e *whitecross.Error
		require.ErrorAs(t, err, &e, c.name)
		require.Equal(t, whitecross.EINVALID, e.Code, c.name)
		require.Equal(t, c.field, e.Field, c.name)
		require.Nil(t, e.Value, "%s: the subscription is never echoed", c.name)
	}
	require.Empty(t, b.list(t, d, d.LincolnNurse), "nothing stored")

	// Padded base64url, as some libraries write it, is accepted.
	padded := *good
	padded.P256dh += "="
	padded.Auth += "=="
	require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnNurse), &padded))
}

func testPushEndpointMoves(t *testing.T, open Opener) {
	b := setupPush(t, open)
	d := b.d
	endpoint := "https://fcm.googleapis.com/fcm/send/shared-laptop"
	first := NewPushSubscription(t, endpoint)
	require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnNurse), first))

	// The same user again (keys rotated): same row, new keys.
	b.clock.Advance(time.Hour)
	again := NewPushSubscription(t, endpoint)
	require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnNurse), again))
	require.Equal(t, first.ID, again.ID)
	subs := b.list(t, d, d.LincolnNurse)
	require.Len(t, subs, 1)
	require.Equal(t, again.P256dh, subs[0].P256dh)
	require.True(t, subs[0].CreatedAt.Equal(b.clock.Now()), "registering again refreshes it")

	// Someone else signs in on that browser: it is theirs now.
	b.clock.Advance(time.Hour)
	parent := NewPushSubscription(t, endpoint)
	require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnParent), parent))
	require.NotEqual(t, first.ID, parent.ID, "a moved subscription gets a new id")
	require.Empty(t, b.list(t, d, d.LincolnNurse))
	subs = b.list(t, d, d.LincolnParent)
	require.Len(t, subs, 1)
	require.Equal(t, parent.P256dh, subs[0].P256dh)
	err := b.st.DeletePushSubscription(d.As(d.LincolnNurse), first.ID)
	require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "the previous owner's id no longer works")

	// And a user of another district on the same browser.
	moved := NewPushSubscription(t, endpoint)
	require.NoError(t, b.st.SavePushSubscription(b.other.As(b.other.LincolnStaff), moved))
	require.Empty(t, b.list(t, d, d.LincolnParent))
	subs = b.list(t, b.other, b.other.LincolnStaff)
	require.Len(t, subs, 1)
	require.Equal(t, moved.ID, subs[0].ID)
	require.Equal(t, b.other.LincolnStaff.ID, subs[0].UserID)
}

func testPushOldestDropped(t *testing.T, open Opener) {
	b := setupPush(t, open)
	d := b.d
	ctx := d.As(d.LincolnStaff)
	var ids []string
	for i := range store.MaxPushSubscriptions + 2 {
		sub := NewPushSubscription(t, fmt.Sprintf("https://push.example.net/s/%d", i))
		require.NoError(t, b.st.SavePushSubscription(ctx, sub))
		ids = append(ids, sub.ID)
		b.clock.Advance(time.Second)
	}
	subs := b.list(t, d, d.LincolnStaff)
	require.Len(t, subs, store.MaxPushSubscriptions)
	kept := map[string]bool{}
	for _, s := range subs {
		kept[s.ID] = true
	}
	require.False(t, kept[ids[0]], "the oldest is dropped")
	require.False(t, kept[ids[1]])
	for _, id := range ids[2:] {
		require.True(t, kept[id])
	}

	// Registering the oldest again makes it the newest: the next save
	// drops the one after it instead.
	oldest := subs[len(subs)-1]
	require.Equal(t, ids[2], oldest.ID)
	refreshed := NewPushSubscription(t, oldest.Endpoint)
	require.NoError(t, b.st.SavePushSubscription(ctx, refreshed))
	require.Equal(t, oldest.ID, refreshed.ID)
	extra := NewPushSubscription(t, "https://push.example.net/s/extra")
	require.NoError(t, b.st.SavePushSubscription(ctx, extra))
	subs = b.list(t, d, d.LincolnStaff)
	require.Len(t, subs, store.MaxPushSubscriptions)
	var now []string
	for _, s := range subs {
		now = append(now, s.ID)
	}
	require.Contains(t, now, extra.ID)
	require.Contains(t, now, refreshed.ID)
	require.NotContains(t, now, ids[3])

	// Other users keep theirs.
	require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnNurse), NewPushSubscription(t, "https://push.example.net/nurse")))
	require.Len(t, b.list(t, d, d.LincolnNurse), 1)
	require.Len(t, b.list(t, d, d.LincolnStaff), store.MaxPushSubscriptions)
}

func testPushCallerRequired(t *testing.T, open Opener) {
	b := setupPush(t, open)
	sub := NewPushSubscription(t, "https://push.example.net/s/1")
	for ctx, code := range map[context.Context]string{
		context.Background(): whitecross.EUNAUTHORIZED,
		b.d.System():         whitecross.EFORBIDDEN,
	} {
		require.Equal(t, code, whitecross.ErrorCode(b.st.SavePushSubscription(ctx, sub)))
		_, err := b.st.ListPushSubscriptions(ctx)
		require.Equal(t, code, whitecross.ErrorCode(err))
		require.Equal(t, code, whitecross.ErrorCode(b.st.DeletePushSubscription(ctx, "0197a1b2-0000-7000-8000-000000000001")))
	}
}

// testPushNonPublicEndpointsRefused is issue 11's SSRF: an endpoint on
// the server's own network is refused when registered, whether it names
// the address or a name that resolves to it.
func testPushNonPublicEndpointsRefused(t *testing.T, open Opener) {
	b := setupPush(t, open)
	d := b.d
	for _, endpoint := range []string{
		"https://127.0.0.1/push", "https://127.0.0.1:8443/push", "https://10.0.0.8/push", "https://172.16.4.2/push",
		"https://192.168.1.20/push", "https://169.254.169.254/latest/meta-data/", "https://[::1]/push",
		"https://[fe80::1]/push", "https://0.0.0.0/push", "https://224.0.0.1/push", "https://[ff02::1]/push",
		"https://100.64.0.1/push", "https://[::ffff:127.0.0.1]/push", "https://[fd00::5]/push",
		"https://localhost/push", "https://LOCALHOST./push", "https://metadata.internal.test/latest",
		"https://nurse-office.internal.test/push",
		"https://fcm.googleapis.com:8443/fcm/send/x", // push services listen on 443 only
	} {
		err := b.st.SavePushSubscription(d.As(d.LincolnParent), NewPushSubscription(t, endpoint))
		var e *whitecross.Error
		require.ErrorAs(t, err, &e, endpoint)
		require.Equal(t, whitecross.EINVALID, e.Code, endpoint)
		require.Equal(t, "body.endpoint", e.Field, endpoint)
		require.NotContains(t, e.Message, "/push", "the endpoint is never echoed")
	}
	require.Empty(t, b.list(t, d, d.LincolnParent), "nothing stored")
	for _, endpoint := range []string{"https://fcm.googleapis.com/fcm/send/x", "https://fcm.googleapis.com:443/fcm/send/y", "https://[2a00:1450:4001:80b::200a]/push"} {
		require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnParent), NewPushSubscription(t, endpoint)), endpoint)
	}
}

// testPushAllowedHosts: with an allow-list of push service hosts, only
// those hosts (and their subdomains) can be registered.
func testPushAllowedHosts(t *testing.T, open Opener) {
	b := setupPush(t, open)
	d := b.d
	b.st.SetPushGuard(netguard.Guard{Resolver: TestResolver{}, Hosts: []string{"fcm.googleapis.com", "push.services.mozilla.com"}})
	require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnParent), NewPushSubscription(t, "https://fcm.googleapis.com/fcm/send/a")))
	require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnParent), NewPushSubscription(t, "https://updates.push.services.mozilla.com/wpush/v2/b")))
	err := b.st.SavePushSubscription(d.As(d.LincolnParent), NewPushSubscription(t, "https://push.example.net/s/1"))
	var e *whitecross.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, whitecross.EINVALID, e.Code)
	require.Equal(t, "body.endpoint", e.Field)
	require.Len(t, b.list(t, d, d.LincolnParent), 2)
}
