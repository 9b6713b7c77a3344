package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/auth"
	"whitecross/delivery"
	"whitecross/provider/smtp"
	"whitecross/provider/twilio"
	"whitecross/store"
	"whitecross/store/storetest"
)

// signinAPI serves the real API with the real auth service on the
// bundle's store, whose notices go through the bundle's queue.
func signinAPI(t *testing.T, b *deliverBundle) string {
	t.Helper()
	b.st.SetNoticeQueue(b.queue)
	keys, err := auth.LoadKeyring(context.Background(), b.st, nil)
	require.NoError(t, err)
	authSvc := auth.NewService(auth.DefaultConfig(testPublicURL), auth.Deps{
		Tenants: b.st, Users: b.st, Credentials: b.st, Sessions: b.st, Throttle: b.st, Audit: b.st,
		Hasher: storetest.InsecureHasher(), Signin: b.st, Keys: keys, Now: b.clock.Now,
	})
	srv := httptest.NewServer(api.New(api.Config{PublicURL: testPublicURL}, api.Deps{
		Auth: authSvc, Tenants: b.st, Users: b.st, JWKS: keys.JWKS, Now: b.clock.Now,
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// postJSON posts body and returns the status and the answer.
func postJSON(t *testing.T, url string, body any) (int, []byte) {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	res, err := http.Post(url, "application/json", bytes.NewReader(raw))
	require.NoError(t, err)
	defer res.Body.Close()
	var out bytes.Buffer
	_, err = out.ReadFrom(res.Body)
	require.NoError(t, err)
	return res.StatusCode, out.Bytes()
}

var sixDigits = regexp.MustCompile(`code is ([0-9]{6})|([0-9]{6}) is your`)

// codeIn finds the code in a sent text, "" when there is none.
func codeIn(text string) string {
	m := sixDigits.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// TestCodeSignInByEmailAndSMS is the issue's "code sign-in through a real
// SMTP server and the Twilio fake": a guardian asks for a code by email and
// by phone, it goes out through the urgent lane, and it signs them in once.
// An unknown contact gets the same answer and nothing is sent.
func TestCodeSignInByEmailAndSMS(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		mail := startSMTPServer(t)
		sender, err := smtp.New(smtp.Config{URL: "smtp://" + mail.addr, From: "White Cross <no-reply@springfield.example>", Timeout: time.Minute})
		require.NoError(t, err)
		tw := newTwilioFake(t)
		sms, err := twilio.New(twilio.Config{BaseURL: tw.URL, AccountSID: fakeTwilioSID, AuthToken: fakeTwilioToken, From: "+15005550006"})
		require.NoError(t, err)
		b := newDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{
			Providers: map[whitecross.Channel]delivery.Provider{
				whitecross.ChannelEmail: {Name: "smtp", Sender: sender}, whitecross.ChannelSMS: {Name: "twilio", Sender: sms}},
		}})
		url := signinAPI(t, b)
		parent := b.d.LincolnParent
		phone := phoneOf(7)
		b.setPhone(t, parent, phone)

		ask := func(contact string) []byte {
			status, body := postJSON(t, url+"/api/v1/auth/code", map[string]string{"tenant": "springfield", "contact": contact})
			require.Equal(t, http.StatusAccepted, status, "%s", body)
			return body
		}
		verify := func(contact, code string) int {
			status, _ := postJSON(t, url+"/api/v1/auth/code/verify", map[string]string{"tenant": "springfield", "contact": contact, "code": code})
			return status
		}

		known := ask(parent.Email)
		var emailed string
		require.Eventually(t, func() bool {
			for _, m := range mail.received() {
				if len(m.To) == 1 && m.To[0] == parent.Email {
					emailed = codeIn(string(m.Data))
				}
			}
			return emailed != ""
		}, waitTimeout, 10*time.Millisecond, "the code by email")
		require.Equal(t, http.StatusUnauthorized, verify(parent.Email, "12345x"))
		require.Equal(t, http.StatusOK, verify(parent.Email, emailed))
		require.Equal(t, http.StatusUnauthorized, verify(parent.Email, emailed), "a code works once")

		ask(phone)
		var texted string
		require.Eventually(t, func() bool { texted = codeIn(tw.body(phone)); return texted != "" }, waitTimeout, 10*time.Millisecond, "the code by SMS")
		require.Equal(t, http.StatusOK, verify(phone, texted))

		unknown := ask("nobody@springfield.example")
		require.Equal(t, known, unknown, "an unknown contact reads the same")
		ask("+15559990000")
		require.Eventually(t, func() bool { return len(b.jobsOfKind(t, delivery.NoticeKind, rivertype.JobStateCompleted)) == 4 },
			waitTimeout, 10*time.Millisecond, "every notice job done, the two to nobody dropped")
		require.Len(t, mail.received(), 1, "nothing is emailed to an unknown contact")
		requests, _ := tw.counts()
		require.Equal(t, 1, requests, "nothing is texted to an unknown number")
		for _, job := range b.jobsOfKind(t, delivery.NoticeKind, rivertype.JobStateCompleted) {
			var args map[string]any
			require.NoError(t, json.Unmarshal(job, &args))
			require.ElementsMatch(t, []string{"tenant_id", "notice_id", "key_id", "sealed"}, keys(args), "ids and the sealed notice only")
			require.NotContains(t, string(job), parent.Email, "the job table never holds the address")
		}
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// jobsOfKind returns the encoded arguments of the jobs of that kind in
// state.
func (b *deliverBundle) jobsOfKind(t *testing.T, kind string, state rivertype.JobState) [][]byte {
	t.Helper()
	res, err := b.queue.JobList(context.Background(), river.NewJobListParams().Kinds(kind).States(state).First(100))
	require.NoError(t, err)
	out := make([][]byte, len(res.Jobs))
	for i, j := range res.Jobs {
		out[i] = j.EncodedArgs
	}
	return out
}
