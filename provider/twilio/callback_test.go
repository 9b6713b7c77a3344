package twilio_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/provider/twilio"
)

// The example from Twilio's webhook security documentation.
const (
	docsToken     = "12345"
	docsURL       = "https://mycompany.com/myapp.php?foo=1&bar=2"
	docsSignature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
)

func docsForm() url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
}

func TestSignatureMatchesTwilioDocs(t *testing.T) {
	t.Parallel()
	require.Equal(t, docsSignature, twilio.Signature(docsToken, docsURL, docsForm()))
	require.True(t, twilio.ValidateSignature(docsToken, docsURL, docsForm(), docsSignature))
}

func TestValidateSignatureRejectsTampering(t *testing.T) {
	t.Parallel()
	tampered := docsForm()
	tampered.Set("Digits", "1235")
	extra := docsForm()
	extra.Set("Body", "x")
	missing := docsForm()
	missing.Del("Digits")

	require.False(t, twilio.ValidateSignature(docsToken, docsURL, tampered, docsSignature), "changed value")
	require.False(t, twilio.ValidateSignature(docsToken, docsURL, extra, docsSignature), "added param")
	require.False(t, twilio.ValidateSignature(docsToken, docsURL, missing, docsSignature), "removed param")
	require.False(t, twilio.ValidateSignature(docsToken, "https://mycompany.com/myapp.php?foo=1&bar=3", docsForm(), docsSignature), "changed query")
	require.False(t, twilio.ValidateSignature(docsToken, "http://mycompany.com/myapp.php?foo=1&bar=2", docsForm(), docsSignature), "changed scheme")
	require.False(t, twilio.ValidateSignature("54321", docsURL, docsForm(), docsSignature), "other token")
	require.False(t, twilio.ValidateSignature(docsToken, docsURL, docsForm(), ""), "no signature")
	require.False(t, twilio.ValidateSignature("", docsURL, docsForm(), twilio.Signature("", docsURL, docsForm())), "no token configured")
}

func TestValidateSignatureDefaultPort(t *testing.T) {
	t.Parallel()
	withPort := "https://mycompany.com:443/myapp.php?foo=1&bar=2"
	require.True(t, twilio.ValidateSignature(docsToken, withPort, docsForm(), docsSignature), "signed without port, seen with")
	sig := twilio.Signature(docsToken, withPort, docsForm())
	require.True(t, twilio.ValidateSignature(docsToken, docsURL, docsForm(), sig), "signed with port, seen without")
	require.False(t, twilio.ValidateSignature(docsToken, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", docsForm(), docsSignature))
}

func TestSignatureRepeatedParams(t *testing.T) {
	t.Parallel()
	a := url.Values{"StatusCallbackEvent": {"ringing", "answered"}}
	b := url.Values{"StatusCallbackEvent": {"answered", "ringing"}}
	require.Equal(t, twilio.Signature("t", "https://x.example/cb", a), twilio.Signature("t", "https://x.example/cb", b))
}

func TestParseStatusCallback(t *testing.T) {
	t.Parallel()
	sms := func(status string) url.Values {
		return url.Values{"MessageSid": {"SM1"}, "SmsSid": {"SM1"}, "MessageStatus": {status}, "SmsStatus": {status}, "AccountSid": {testSID}}
	}
	call := func(status string) url.Values {
		return url.Values{"CallSid": {"CA1"}, "CallStatus": {status}, "AccountSid": {testSID}}
	}
	tests := []struct {
		form  url.Values
		ch    whitecross.Channel
		want  whitecross.DeliveryStatus
		final bool
	}{
		{sms("queued"), whitecross.ChannelSMS, whitecross.DeliverySent, false},
		{sms("sending"), whitecross.ChannelSMS, whitecross.DeliverySent, false},
		{sms("sent"), whitecross.ChannelSMS, whitecross.DeliverySent, false},
		{sms("delivered"), whitecross.ChannelSMS, whitecross.DeliveryDelivered, true},
		{sms("read"), whitecross.ChannelSMS, whitecross.DeliveryDelivered, true},
		{sms("undelivered"), whitecross.ChannelSMS, whitecross.DeliveryFailed, true},
		{sms("failed"), whitecross.ChannelSMS, whitecross.DeliveryFailed, true},
		{sms("canceled"), whitecross.ChannelSMS, whitecross.DeliveryFailed, true},
		{call("queued"), whitecross.ChannelVoice, whitecross.DeliverySent, false},
		{call("ringing"), whitecross.ChannelVoice, whitecross.DeliverySent, false},
		{call("in-progress"), whitecross.ChannelVoice, whitecross.DeliverySent, false},
		{call("completed"), whitecross.ChannelVoice, whitecross.DeliveryDelivered, true},
		{call("busy"), whitecross.ChannelVoice, whitecross.DeliveryFailed, true},
		{call("no-answer"), whitecross.ChannelVoice, whitecross.DeliveryFailed, true},
		{call("failed"), whitecross.ChannelVoice, whitecross.DeliveryFailed, true},
		{call("canceled"), whitecross.ChannelVoice, whitecross.DeliveryFailed, true},
	}
	for _, tt := range tests {
		ev, err := twilio.ParseStatusCallback(tt.form)
		require.NoError(t, err, tt.form.Encode())
		require.Equal(t, tt.want, ev.Status, tt.form.Encode())
		require.Equal(t, tt.ch, ev.Channel)
		require.Equal(t, tt.final, ev.Final, tt.form.Encode())
		require.NotEmpty(t, ev.ProviderID)
		require.NotEmpty(t, ev.ProviderStatus)
	}

	failed := sms("undelivered")
	failed.Set("ErrorCode", "30003")
	ev, err := twilio.ParseStatusCallback(failed)
	require.NoError(t, err)
	require.Equal(t, twilio.StatusEvent{ProviderID: "SM1", Channel: whitecross.ChannelSMS, Status: whitecross.DeliveryFailed,
		ProviderStatus: "undelivered", ErrorCode: "30003", Final: true}, ev)
	require.Equal(t, "Twilio: undelivered (error 30003)", ev.Reason())

	// 21610: the number texted STOP; only a failed SMS says so.
	failed.Set("ErrorCode", twilio.OptOutCode)
	ev, err = twilio.ParseStatusCallback(failed)
	require.NoError(t, err)
	require.True(t, ev.OptedOut)
	for _, form := range []url.Values{call("failed"), sms("sent")} {
		form.Set("ErrorCode", twilio.OptOutCode)
		ev, err = twilio.ParseStatusCallback(form)
		require.NoError(t, err)
		require.False(t, ev.OptedOut, form.Encode())
	}
	require.Empty(t, ev.Reason(), "only a failure has a reason")
	odd := call("busy")
	odd.Set("ErrorCode", "<script>")
	ev, err = twilio.ParseStatusCallback(odd)
	require.NoError(t, err)
	require.Equal(t, "Twilio: busy", ev.Reason(), "a code that is not digits is left out")

	for _, bad := range []url.Values{sms("received"), sms("bogus"), {"AccountSid": {testSID}}, call("")} {
		_, err := twilio.ParseStatusCallback(bad)
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err), bad.Encode())
	}
}

func TestParseInbound(t *testing.T) {
	t.Parallel()
	inbound := func(body string) url.Values {
		return url.Values{"MessageSid": {"SM9"}, "From": {testTo}, "To": {testFrom}, "Body": {body}, "AccountSid": {testSID}}
	}
	tests := map[string]twilio.Keyword{
		"STOP": twilio.KeywordOptOut, " stop ": twilio.KeywordOptOut, "Stop.": twilio.KeywordOptOut,
		"STOPALL": twilio.KeywordOptOut, "unsubscribe": twilio.KeywordOptOut, "CANCEL": twilio.KeywordOptOut,
		"end": twilio.KeywordOptOut, "QUIT": twilio.KeywordOptOut,
		"START": twilio.KeywordOptIn, "yes": twilio.KeywordOptIn, "UNSTOP": twilio.KeywordOptIn,
		"HELP": twilio.KeywordHelp, "info": twilio.KeywordHelp,
		"please stop texting": twilio.KeywordNone, "Thanks!": twilio.KeywordNone, "": twilio.KeywordNone,
	}
	for body, want := range tests {
		in, err := twilio.ParseInbound(inbound(body))
		require.NoError(t, err)
		require.Equal(t, want, in.Keyword, "%q", body)
		require.Equal(t, testTo, in.From)
		require.Equal(t, "SM9", in.MessageSID)
		require.Equal(t, body, in.Body)
	}

	advanced := inbound("arrêt")
	advanced.Set("OptOutType", "STOP") // Twilio Advanced Opt-Out recognised a custom keyword
	in, err := twilio.ParseInbound(advanced)
	require.NoError(t, err)
	require.Equal(t, twilio.KeywordOptOut, in.Keyword)

	_, err = twilio.ParseInbound(url.Values{"Body": {"STOP"}})
	require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err))
}
