package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/auth"
	"whitecross/store"
	"whitecross/store/storetest"
)

// noticeBox is the store's notice queue in API tests: it keeps the sealed
// jobs and opens them with the store, as the delivery worker does.
type noticeBox struct {
	st   *store.Store
	mu   sync.Mutex
	jobs []store.NoticeJob
}

func (n *noticeBox) EnqueueNotice(_ context.Context, _ *store.Tx, job store.NoticeJob) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.jobs = append(n.jobs, job)
	return nil
}

// last opens the newest notice.
func (n *noticeBox) last(t *testing.T) *whitecross.Notice {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	require.NotEmpty(t, n.jobs, "no notice queued")
	notice, err := n.st.OpenNotice(context.Background(), n.jobs[len(n.jobs)-1])
	require.NoError(t, err)
	return notice
}

var codePattern = regexp.MustCompile(`\b([0-9]{6})\b`)

// code is the code of the newest notice, which must be to contact.
func (n *noticeBox) code(t *testing.T, contact string) string {
	t.Helper()
	notice := n.last(t)
	require.Equal(t, contact, notice.To)
	m := codePattern.FindStringSubmatch(notice.Text)
	require.NotNil(t, m, "no code in %q", notice.Text)
	return m[1]
}

// signinBundle is an API bundle whose store queues notices in a box, on a
// database whose clock the test moves.
type signinBundle struct {
	*bundle
	box   *noticeBox
	clock *storetest.Clock
}

func forEachSigninDialect(t *testing.T, fn func(t *testing.T, b *signinBundle)) {
	t.Helper()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		clock := storetest.NewClock(time.Now())
		db.Now = clock.Now
		b := setup(t, db, api.Config{}, func(d *api.Deps) {
			// Codes expire by the auth service's clock and the database's
			// alike: both are the test's.
			st := d.Users.(*store.Store)
			keys, err := auth.LoadKeyring(context.Background(), st, nil)
			require.NoError(t, err)
			d.Auth = auth.NewService(auth.DefaultConfig(publicURL), auth.Deps{
				Tenants: st, Users: st, Credentials: st, Sessions: st, Throttle: st, Audit: st,
				Hasher: storetest.InsecureHasher(), Signin: st, MFA: st, Keys: keys, Now: clock.Now,
			})
			d.JWKS = keys.JWKS
		})
		box := &noticeBox{st: b.st}
		b.st.SetNoticeQueue(box)
		fn(t, &signinBundle{bundle: b, box: box, clock: clock})
	})
}

func (b *signinBundle) requestCode(t *testing.T, contact string) *response {
	t.Helper()
	return b.do(t, req{method: "POST", path: "/api/v1/auth/code",
		body: map[string]string{"tenant": "springfield", "contact": contact}})
}

func (b *signinBundle) verify(t *testing.T, contact, code string) *response {
	t.Helper()
	return b.do(t, req{method: "POST", path: "/api/v1/auth/code/verify",
		body: map[string]string{"tenant": "springfield", "contact": contact, "code": code}})
}

// otherCode is a well-formed code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestSignInWithCode(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		parent := b.d.LincolnParent
		require.Equal(t, http.StatusAccepted, b.requestCode(t, parent.Email).status)
		code := b.box.code(t, parent.Email)

		res := b.verify(t, parent.Email, otherCode(code))
		require.Equal(t, http.StatusUnauthorized, res.status, "a wrong code: %s", res.body)
		res = b.verify(t, parent.Email, code)
		require.Equal(t, http.StatusOK, res.status, "the right code: %s", res.body)
		var tok struct {
			AccessToken string              `json:"access_token"`
			User        struct{ ID string } `json:"user"`
		}
		res.decode(t, &tok)
		require.Equal(t, parent.ID, tok.User.ID)
		require.Len(t, res.header.Values("Set-Cookie"), 3, "the session cookies, as a password login")
		me := b.do(t, req{method: "GET", path: "/api/v1/me", token: tok.AccessToken})
		require.Equal(t, http.StatusOK, me.status)

		res = b.verify(t, parent.Email, code)
		require.Equal(t, http.StatusUnauthorized, res.status, "a spent code")

		events, err := b.st.AuditEvents(context.Background(), b.d.Tenant.ID, 0, 1000)
		require.NoError(t, err)
		actions := map[string]int{}
		for _, e := range events {
			actions[e.Action]++
			detail := string(e.StoredDetail)
			require.NotContains(t, detail, parent.Email, "%s never names the contact", e.Action)
			require.NotContains(t, detail, code, "%s never holds the code", e.Action)
		}
		require.Equal(t, 1, actions[whitecross.AuditCodeRequested])
		require.Equal(t, 1, actions[whitecross.AuditCodeSucceeded])
		require.Equal(t, 2, actions[whitecross.AuditCodeFailed], "the wrong and the spent code")
	})
}

func TestSignInCodeExpiresSupersedesAndTries(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		parent := b.d.LincolnParent
		b.requestCode(t, parent.Email)
		expired := b.box.code(t, parent.Email)
		b.clock.Advance(whitecross.SigninCodeTTL + time.Second)
		require.Equal(t, http.StatusUnauthorized, b.verify(t, parent.Email, expired).status, "an expired code")

		b.requestCode(t, parent.Email)
		first := b.box.code(t, parent.Email)
		b.requestCode(t, parent.Email)
		second := b.box.code(t, parent.Email)
		if first != second {
			require.Equal(t, http.StatusUnauthorized, b.verify(t, parent.Email, first).status, "a superseded code")
		}
		require.Equal(t, http.StatusOK, b.verify(t, parent.Email, second).status)
	})
}

func TestSignInCodeUnknownContactLooksTheSame(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		known := b.requestCode(t, b.d.LincolnParent.Email)
		for _, contact := range []string{"nobody@springfield.example", "+15559990000", b.d.FormerStaff.Email} {
			unknown := b.requestCode(t, contact)
			require.Equal(t, known.status, unknown.status, contact)
			require.Equal(t, known.body, unknown.body, contact)
			require.Empty(t, b.box.last(t).To, "nothing is sent for %s", contact)
			res := b.verify(t, contact, "123456")
			require.Equal(t, http.StatusUnauthorized, res.status)
			wrong := b.verify(t, b.d.LincolnParent.Email, "999999")
			require.Equal(t, wrong.body, res.body, "an unknown contact's refusal reads as a wrong code's")
		}
		res := b.requestCode(t, "not a contact")
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "body.contact", res.problem(t).Errors[0].Location)
	})
}

func TestSignInCodeRateLimited(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		parent := b.d.LincolnParent
		for i := range 5 {
			require.Equal(t, http.StatusAccepted, b.requestCode(t, parent.Email).status, "request %d", i+1)
		}
		res := b.requestCode(t, parent.Email)
		require.Equal(t, http.StatusTooManyRequests, res.status, "a 6th request within 15 minutes")
		require.NotEmpty(t, res.header.Get("Retry-After"))
		unknown := b.requestCode(t, "nobody@springfield.example")
		require.Equal(t, http.StatusAccepted, unknown.status, "another contact is counted apart")

		// Wrong codes share the password lockout: after the 5th, even the
		// right code is refused.
		b.requestCode(t, b.d.LincolnStaff.Email)
		code := b.box.code(t, b.d.LincolnStaff.Email)
		for range 4 {
			require.Equal(t, http.StatusUnauthorized, b.verify(t, b.d.LincolnStaff.Email, otherCode(code)).status)
		}
		b.requestCode(t, b.d.LincolnStaff.Email)
		code = b.box.code(t, b.d.LincolnStaff.Email)
		require.Equal(t, http.StatusUnauthorized, b.verify(t, b.d.LincolnStaff.Email, otherCode(code)).status)
		require.Equal(t, http.StatusTooManyRequests, b.verify(t, b.d.LincolnStaff.Email, code).status, "locked out")
	})
}

// TestSignInCodeRateLimitedPerAddress: one client address may ask for 20
// codes or links in 15 minutes, whatever the contacts, so it cannot spray
// a district's families with texts.
func TestSignInCodeRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		for i := range 20 {
			res := b.requestCode(t, fmt.Sprintf("family%d@springfield.example", i))
			require.Equal(t, http.StatusAccepted, res.status, "request %d", i+1)
		}
		require.Equal(t, http.StatusTooManyRequests, b.requestCode(t, b.d.LincolnParent.Email).status, "the 21st")
		res := b.do(t, req{method: "POST", path: "/api/v1/auth/password/forgot",
			body: map[string]string{"tenant": "springfield", "email": b.d.LincolnParent.Email}})
		require.Equal(t, http.StatusTooManyRequests, res.status, "reset links count with codes")
		b.clock.Advance(time.Hour)
		require.Equal(t, http.StatusAccepted, b.requestCode(t, b.d.LincolnParent.Email).status, "an hour later")
	})
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		nurse := b.d.LincolnNurse
		other := b.token(t, b.d, nurse)
		for range 5 {
			res := b.do(t, req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"tenant": "springfield", "email": nurse.Email, "password": "not the password at all"}})
			require.Equal(t, http.StatusUnauthorized, res.status)
		}
		locked := b.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"tenant": "springfield", "email": nurse.Email, "password": storetest.SeedPassword}})
		require.Equal(t, http.StatusTooManyRequests, locked.status, "locked out before the reset")
		forgot := func(email string) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/auth/password/forgot",
				body: map[string]string{"tenant": "springfield", "email": email}})
		}
		res := forgot(nurse.Email)
		require.Equal(t, http.StatusAccepted, res.status)
		unknown := forgot("nobody@springfield.example")
		require.Equal(t, res.status, unknown.status)
		require.Equal(t, res.body, unknown.body)
		require.Empty(t, b.box.last(t).To)

		forgot(nurse.Email)
		notice := b.box.last(t)
		require.Equal(t, nurse.Email, notice.To)
		link := regexp.MustCompile(`(http\S+/reset\?token=\S+)`).FindString(notice.Text)
		require.NotEmpty(t, link, notice.Text)
		u, err := url.Parse(link)
		require.NoError(t, err)
		require.Equal(t, "/reset", u.Path)
		token := u.Query().Get("token")
		reset := func(password string) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/auth/password/reset",
				body: map[string]string{"token": token, "password": password}})
		}
		weak := reset("password1234")
		require.Equal(t, http.StatusUnprocessableEntity, weak.status)
		require.Equal(t, "body.password", weak.problem(t).Errors[0].Location)

		require.Equal(t, http.StatusNoContent, reset("a new and rather long passphrase").status)
		me := b.do(t, req{method: "GET", path: "/api/v1/me", token: other})
		require.Equal(t, http.StatusUnauthorized, me.status, "every other session ended")
		login := b.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"tenant": "springfield", "email": nurse.Email, "password": "a new and rather long passphrase"}})
		require.Equal(t, http.StatusOK, login.status, "the new password signs in, the lockout ended by the reset")
		require.Equal(t, http.StatusUnauthorized, reset("yet another long passphrase").status, "a spent link")

		forgot(nurse.Email)
		link = regexp.MustCompile(`(http\S+/reset\?token=\S+)`).FindString(b.box.last(t).Text)
		u, err = url.Parse(link)
		require.NoError(t, err)
		token = u.Query().Get("token")
		b.clock.Advance(whitecross.PasswordResetTTL + time.Second)
		require.Equal(t, http.StatusUnauthorized, reset("an expired link passphrase").status, "an expired link")
	})
}
