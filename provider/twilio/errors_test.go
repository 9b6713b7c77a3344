package twilio_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/provider/twilio"
)

func TestSendClassifiesTwilioErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		code       int
		retryAfter string
		permanent  bool
		wantCode   string
		wantRetry  time.Duration
		throttled  bool
	}{
		{"invalid To", 400, 21211, "", true, "21211", 0, false},
		{"not a mobile", 400, 21614, "", true, "21614", 0, false},
		{"unsubscribed (STOP)", 400, 21610, "", true, "21610", 0, false},
		{"region not enabled", 400, 21408, "", true, "21408", 0, false},
		{"unknown 400 code", 400, 21999, "", true, "21999", 0, false},
		{"rate limited", 429, 20429, "30", false, "20429", 30 * time.Second, true},
		{"429 without a code", 429, 0, "", false, "429", 0, true},
		{"sender's queue full", 400, 21611, "", false, "21611", 0, true},
		{"unavailable", 503, 0, "", false, "503", 0, false},
		{"server error with code", 500, 20500, "2", false, "20500", 2 * time.Second, false},
		{"bad credentials", 401, 20003, "", false, "auth", 0, false},
		{"invalid From (config)", 400, 21212, "", false, "21212", 0, false},
		{"account not found", 404, 20404, "", false, "20404", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				// Twilio's messages quote the number: it must not leak.
				twilioError(w, tt.status, tt.code, "The 'To' number "+testTo+" is not a valid phone number.")
			})
			c := newClient(t, fake.URL)
			_, err := c.Send(context.Background(), sms("secret body", ""))
			pe := requireProviderError(t, err)
			require.Equal(t, tt.permanent, pe.Permanent)
			require.Equal(t, tt.wantCode, pe.Code)
			require.Equal(t, tt.wantRetry, pe.RetryAfter)
			require.Equal(t, tt.code == 21610, pe.OptedOut, "only 21610 says the number texted STOP")
			require.Equal(t, tt.throttled, pe.Throttled, "only 429, 20429 and 21611 say we send too fast")
			require.NotEmpty(t, pe.Message)
			require.NotContains(t, pe.Error(), testTo)
			require.NotContains(t, pe.Error(), "secret body")
		})
	}
}

func TestSendWrongTokenIsAuth(t *testing.T) {
	t.Parallel()
	fake := newFake(t, created("SM1"))
	c := newClient(t, fake.URL, func(cfg *twilio.Config) { cfg.AuthToken = "wrong" })
	_, err := c.Send(context.Background(), sms("x", ""))
	pe := requireProviderError(t, err)
	require.False(t, pe.Permanent)
	require.Equal(t, "auth", pe.Code)
	require.NotContains(t, pe.Error(), "wrong")
}

func TestSendRetryAfterDate(t *testing.T) {
	t.Parallel()
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		twilioError(w, 429, 20429, "Too Many Requests")
	})
	_, err := newClient(t, fake.URL).Send(context.Background(), sms("x", ""))
	pe := requireProviderError(t, err)
	require.InDelta(t, 90, pe.RetryAfter.Seconds(), 3)
}

func TestSendNetworkFailureIsTemporary(t *testing.T) {
	t.Parallel()
	fake := newFake(t, created("SM1"))
	base := fake.URL
	fake.Close() // connection refused from now on
	_, err := newClient(t, base).Send(context.Background(), sms("x", ""))
	pe := requireProviderError(t, err)
	require.False(t, pe.Permanent)
	require.Equal(t, "network", pe.Code)
}

func TestSendTimeoutIsTemporary(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	c := newClient(t, fake.URL, func(cfg *twilio.Config) { cfg.Timeout = 50 * time.Millisecond })
	_, err := c.Send(context.Background(), sms("x", ""))
	pe := requireProviderError(t, err)
	require.False(t, pe.Permanent)
	require.Equal(t, "network", pe.Code)
}

func TestSendCanceledIsNotProviderError(t *testing.T) {
	t.Parallel()
	fake := newFake(t, created("SM1"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(t, fake.URL).Send(ctx, sms("x", ""))
	require.ErrorIs(t, err, context.Canceled)
}

func TestSendSuccessWithoutSID(t *testing.T) {
	t.Parallel()
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"status":"queued"}`))
	})
	_, err := newClient(t, fake.URL).Send(context.Background(), sms("x", ""))
	pe := requireProviderError(t, err)
	require.False(t, pe.Permanent)
	require.Equal(t, "bad_response", pe.Code)
}

func TestOptedOutIsError21610Only(t *testing.T) {
	t.Parallel()
	require.True(t, twilio.OptedOut("21610"))
	for _, code := range []string{"", "21611", "30003", " 21610"} {
		require.False(t, twilio.OptedOut(code), code)
	}
}
