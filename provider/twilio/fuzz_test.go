package twilio_test

import (
	"net/url"
	"strings"
	"testing"

	"whitecross"
	"whitecross/provider/twilio"
)

// FuzzWebhookForm: whatever form body reaches the status and inbound
// webhooks, parsing never panics and what it accepts is whole — a
// provider id, one of our statuses, a reason in our words — and a
// signature computed over the form validates, and no longer does once the
// form is changed.
func FuzzWebhookForm(f *testing.F) {
	for _, seed := range []string{
		"MessageSid=SM1&MessageStatus=delivered",
		"SmsSid=SM2&SmsStatus=undelivered&ErrorCode=30003",
		"CallSid=CA1&CallStatus=no-answer",
		"MessageSid=SM3&MessageStatus=failed&ErrorCode=21610",
		"MessageSid=SM4&From=%2B15552013344&To=%2B15550000000&Body=Stop.",
		"MessageSid=SM5&From=x&Body=hi&OptOutType=help",
		"ErrorCode=%3Cscript%3E&MessageSid=SM6&MessageStatus=failed",
		"a=1&a=2&%zz=&;=",
	} {
		f.Add(seed, "https://example.org/api/v1/webhooks/twilio/status?x=1")
	}
	f.Fuzz(func(t *testing.T, body, fullURL string) {
		form, _ := url.ParseQuery(body) // the handler refuses a malformed body; parse what there is
		if ev, err := twilio.ParseStatusCallback(form); err == nil {
			checkStatus(t, ev)
		}
		if in, err := twilio.ParseInbound(form); err == nil && (in.MessageSID == "" || in.From == "") {
			t.Fatalf("inbound %+v accepted without MessageSid or From", in)
		}
		sig := twilio.Signature("token", fullURL, form)
		if !twilio.ValidateSignature("token", fullURL, form, sig) {
			t.Fatalf("own signature refused for %q at %q", body, fullURL)
		}
		changed := url.Values{}
		for k, v := range form {
			changed[k] = append([]string(nil), v...)
		}
		changed.Add("Injected", "1")
		if twilio.ValidateSignature("token", fullURL, changed, sig) {
			t.Fatalf("signature still valid after adding a field to %q", body)
		}
	})
}

func checkStatus(t *testing.T, ev twilio.StatusEvent) {
	t.Helper()
	switch {
	case ev.ProviderID == "":
		t.Fatalf("status %+v accepted without a provider id", ev)
	case ev.Status != whitecross.DeliverySent && ev.Status != whitecross.DeliveryDelivered && ev.Status != whitecross.DeliveryFailed:
		t.Fatalf("status %q is not one a callback may set", ev.Status)
	case ev.Final == (ev.Status == whitecross.DeliverySent):
		t.Fatalf("final %v for status %s", ev.Final, ev.Status)
	}
	// The reason is Twilio's status word from a fixed table and digits.
	reason, _, _ := strings.Cut(strings.TrimPrefix(ev.Reason(), "Twilio: "+ev.ProviderStatus), "(error ")
	if strings.TrimSpace(reason) != "" {
		t.Fatalf("reason %q carries text from the form", ev.Reason())
	}
}
