package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/provider/twilio"
)

const (
	testSID      = "AC0123456789abcdef0123456789abcdef"
	testToken    = "test-auth-token"
	testFrom     = "+15005550006"
	testService  = "MG0123456789abcdef0123456789abcdef"
	testCallback = "https://school.example/api/v1/webhooks/twilio/status"
	testTo       = "+15551234567"
)

// fakeTwilio is an HTTP server speaking Twilio's REST wire format: it
// records each request and answers with reply.
type fakeTwilio struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	reply    func(w http.ResponseWriter, r *http.Request)
}

type recorded struct {
	Method, Path, ContentType, Idempotency, Accept string
	User, Pass                                     string
	BasicOK                                        bool
	Form                                           url.Values
}

func newFake(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		rec := recorded{
			Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
			Idempotency: r.Header.Get("I-Twilio-Idempotency-Token"), Accept: r.Header.Get("Accept"),
			User: user, Pass: pass, BasicOK: ok,
		}
		if err := r.ParseForm(); err == nil {
			rec.Form = r.PostForm
		}
		f.mu.Lock()
		f.requests = append(f.requests, rec)
		f.mu.Unlock()
		if user != testSID || pass != testToken {
			twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
			return
		}
		f.reply(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) only(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.requests, 1)
	return f.requests[0]
}

// created answers like Twilio's 201 for a new Message or Call resource.
func created(sid string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"account_sid":%q,"sid":%q,"status":"queued","to":%q,"from":%q,"api_version":"2010-04-01","error_code":null,"error_message":null,"uri":"/2010-04-01/Accounts/%s/Messages/%s.json"}`,
			testSID, sid, r.PostForm.Get("To"), r.PostForm.Get("From"), testSID, sid)
	}
}

func twilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%q,"more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`, code, message, code, status)
}

func newClient(t *testing.T, base string, mutate ...func(*twilio.Config)) *twilio.Client {
	t.Helper()
	cfg := twilio.Config{BaseURL: base, AccountSID: testSID, AuthToken: testToken, From: testFrom, StatusCallbackURL: testCallback}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := twilio.New(cfg)
	require.NoError(t, err)
	return c
}

func sms(text, link string) *whitecross.Outbound {
	return &whitecross.Outbound{DeliveryID: "0195d3a0-0000-7000-8000-000000000001", Channel: whitecross.ChannelSMS, To: testTo, Locale: "en", Text: text, Link: link}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	good := twilio.Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, StatusCallbackURL: testCallback}
	tests := map[string]func(*twilio.Config){
		"relative base URL":   func(c *twilio.Config) { c.BaseURL = "api.twilio.com" },
		"short account SID":   func(c *twilio.Config) { c.AccountSID = "AC123" },
		"non-hex account SID": func(c *twilio.Config) { c.AccountSID = "ACzz23456789abcdef0123456789abcdef" },
		"missing token":       func(c *twilio.Config) { c.AuthToken = "" },
		"from not E.164":      func(c *twilio.Config) { c.From = "5551234567" },
		"relative callback":   func(c *twilio.Config) { c.StatusCallbackURL = "/api/v1/webhooks/twilio/status" },
		"negative timeout":    func(c *twilio.Config) { c.Timeout = -time.Second },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			mutate(&cfg)
			_, err := twilio.New(cfg)
			require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err))
			require.NotContains(t, err.Error(), testToken)
		})
	}
	_, err := twilio.New(good)
	require.NoError(t, err, "defaults fill BaseURL")
	good.From = testService
	_, err = twilio.New(good)
	require.NoError(t, err, "a Messaging Service SID is a valid from")
}

func TestSendSMS(t *testing.T) {
	t.Parallel()
	fake := newFake(t, created("SM0123456789abcdef0123456789abcdef"))
	c := newClient(t, fake.URL+"/") // a trailing slash is tolerated

	res, err := c.Send(context.Background(), sms("School closes at noon today.", "https://school.example/m/1"))
	require.NoError(t, err)
	require.Equal(t, &whitecross.SendResult{ProviderID: "SM0123456789abcdef0123456789abcdef", Status: whitecross.DeliverySent}, res)

	req := fake.only(t)
	require.Equal(t, http.MethodPost, req.Method)
	require.Equal(t, "/2010-04-01/Accounts/"+testSID+"/Messages.json", req.Path)
	require.True(t, req.BasicOK)
	require.Equal(t, testSID, req.User)
	require.Equal(t, testToken, req.Pass)
	require.Equal(t, "application/x-www-form-urlencoded", req.ContentType)
	require.Equal(t, "0195d3a0-0000-7000-8000-000000000001", req.Idempotency)
	require.Equal(t, url.Values{
		"To":             {testTo},
		"From":           {testFrom},
		"Body":           {"School closes at noon today.\nhttps://school.example/m/1"},
		"StatusCallback": {testCallback},
	}, req.Form)
}

func TestSendSMSMessagingService(t *testing.T) {
	t.Parallel()
	fake := newFake(t, created("SMffffffffffffffffffffffffffffffff"))
	c := newClient(t, fake.URL, func(cfg *twilio.Config) { cfg.From = testService; cfg.StatusCallbackURL = "" })

	_, err := c.Send(context.Background(), sms("Hi", ""))
	require.NoError(t, err)
	require.Equal(t, url.Values{"To": {testTo}, "MessagingServiceSid": {testService}, "Body": {"Hi"}}, fake.only(t).Form)
}

func TestSMSBody(t *testing.T) {
	t.Parallel()
	link := "https://school.example/m/1"
	tests := []struct{ text, link, want string }{
		{"Hello", link, "Hello\n" + link},
		{"Read it: " + link, link, "Read it: " + link}, // already there: not twice
		{"Hello", "", "Hello"},
		{"", link, link},
		{"  Hello \n", link, "Hello\n" + link},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, twilio.SMSBody(&whitecross.Outbound{Text: tt.text, Link: tt.link}))
	}
}

func TestSendVoice(t *testing.T) {
	t.Parallel()
	fake := newFake(t, created("CA0123456789abcdef0123456789abcdef"))
	c := newClient(t, fake.URL)
	out := &whitecross.Outbound{DeliveryID: "d-voice", Channel: whitecross.ChannelVoice, To: testTo, Locale: "es-MX",
		Text: `Cierre <urgente> & "hoy"`, Link: "https://school.example/m/1"}

	res, err := c.Send(context.Background(), out)
	require.NoError(t, err)
	require.Equal(t, "CA0123456789abcdef0123456789abcdef", res.ProviderID)
	require.Equal(t, whitecross.DeliverySent, res.Status)

	req := fake.only(t)
	require.Equal(t, "/2010-04-01/Accounts/"+testSID+"/Calls.json", req.Path)
	require.Equal(t, "d-voice", req.Idempotency)
	say := `<Say language="es-US" voice="Google.es-US-Standard-A">Cierre &lt;urgente&gt; &amp; &#34;hoy&#34;</Say>`
	require.Equal(t, url.Values{
		"To":                   {testTo},
		"From":                 {testFrom},
		"Twiml":                {"<Response>" + say + `<Pause length="1"/>` + say + "</Response>"},
		"StatusCallback":       {testCallback},
		"StatusCallbackMethod": {"POST"},
		"StatusCallbackEvent":  {"completed"},
	}, req.Form)
}

func TestVoiceFor(t *testing.T) {
	t.Parallel()
	tests := map[string]string{"en": "en-US", "": "en-US", "xx": "en-US", "es": "es-US", "fr-CA": "fr-FR",
		"vi": "vi-VN", "zh-Hans": "cmn-CN", "ZH_cn": "cmn-CN"}
	for locale, lang := range tests {
		require.Equal(t, lang, twilio.VoiceFor(locale).Language, locale)
	}
}

func TestVoiceTwiMLFitsTwilioLimit(t *testing.T) {
	t.Parallel()
	medium := strings.Repeat("word ", 500) // fits once, not twice
	twiml := twilio.VoiceTwiML("en", medium)
	require.LessOrEqual(t, len(twiml), 4000)
	require.Equal(t, 1, strings.Count(twiml, "<Say "), "the repeat is dropped")
	require.Contains(t, twiml, strings.TrimSpace(medium))

	long := strings.Repeat("né & ", 2000)
	twiml = twilio.VoiceTwiML("fr", long)
	require.LessOrEqual(t, len(twiml), 4000)
	require.True(t, strings.HasSuffix(twiml, "</Say></Response>"))
	require.NotContains(t, twiml, "\uFFFD", "cut on a rune boundary")
}

func TestSendVoiceNeedsNumber(t *testing.T) {
	t.Parallel()
	fake := newFake(t, created("CA1"))
	c := newClient(t, fake.URL, func(cfg *twilio.Config) { cfg.From = testService })
	_, err := c.Send(context.Background(), &whitecross.Outbound{Channel: whitecross.ChannelVoice, To: testTo, Text: "x"})
	pe := requireProviderError(t, err)
	require.True(t, pe.Permanent)
	require.Equal(t, "config", pe.Code)
	require.Empty(t, fake.requests)
}

func TestSendRefusesBeforeRequest(t *testing.T) {
	t.Parallel()
	fake := newFake(t, created("SM1"))
	c := newClient(t, fake.URL)
	_, err := c.Send(context.Background(), &whitecross.Outbound{Channel: whitecross.ChannelEmail, To: testTo})
	require.Equal(t, "channel", requireProviderError(t, err).Code)
	_, err = c.Send(context.Background(), &whitecross.Outbound{Channel: whitecross.ChannelSMS, To: "555-1234"})
	pe := requireProviderError(t, err)
	require.True(t, pe.Permanent)
	require.Equal(t, "21211", pe.Code)
	require.NotContains(t, pe.Error(), "555-1234")
	require.Empty(t, fake.requests)
}

func requireProviderError(t *testing.T, err error) *whitecross.ProviderError {
	t.Helper()
	var pe *whitecross.ProviderError
	require.True(t, errors.As(err, &pe), "want *ProviderError, got %v", err)
	require.Equal(t, "twilio", pe.Provider)
	return pe
}
