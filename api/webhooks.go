package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
	"whitecross/provider/sendgrid"
	"whitecross/provider/smtp"
	"whitecross/provider/twilio"
)

// tagWebhooks groups the provider callbacks in the docs.
const tagWebhooks = "Webhooks"

// Body limits of the callbacks: Twilio's forms are a few hundred bytes;
// SendGrid posts batches of events of up to a few hundred KB.
const (
	maxTwilioCallbackBytes = 64 << 10
	maxSendGridBatchBytes  = 1 << 20
)

// TwilioStatusPath is where Twilio posts status callbacks: every SMS and
// call sent names this route of the public URL as its StatusCallback.
const TwilioStatusPath = "/api/v1/webhooks/twilio/status"

// emptyTwiML answers an inbound SMS without replying: Twilio itself
// confirms STOP, START and HELP to the sender.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

var (
	errTwilioOff       = whitecross.Errorf(whitecross.ENOTFOUND, "Twilio callbacks are not configured on this server.")
	errTwilioSignature = whitecross.Errorf(whitecross.EFORBIDDEN, "Missing or invalid X-Twilio-Signature.")
	errSendGridOff     = whitecross.Errorf(whitecross.ENOTFOUND, "SendGrid events are not configured on this server.")
	errSendGridKey     = whitecross.Errorf(whitecross.EUNAVAILABLE, "The SendGrid verification key configured on this server is invalid; see the server log.")
)

// webhookRoutes registers the provider callbacks (Twilio status and
// inbound SMS, SendGrid events). They carry no session: each is
// authenticated by its provider's signature, and a request that fails the
// check is 403 and changes nothing.
func (s *Server) webhookRoutes() {
	a := s.api
	callbackErrors := []int{http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}

	op := s.op(huma.Operation{OperationID: "twilio-status-callback", Method: http.MethodPost, Path: TwilioStatusPath, Tags: []string{tagWebhooks},
		Summary: "Twilio status callback for an SMS or call", DefaultStatus: http.StatusNoContent,
		Description: "Twilio posts here (every SMS and call we send names this URL as its StatusCallback) as the message or " +
			"call moves on. X-Twilio-Signature is checked with the account's auth token over the public URL of this route " +
			"and the form; a missing or wrong signature is 403 and changes nothing. The delivery Twilio's MessageSid or " +
			"CallSid names moves forward only — SMS queued/sending/sent and call queued/initiated/ringing/in-progress: " +
			"SENT; delivered/read and completed: DELIVERED; undelivered/failed/canceled and busy/no-answer/failed/canceled: " +
			"FAILED with Twilio's error code (and the next channel of the fallback policy is tried). A late or repeated " +
			"callback changes nothing. A failed SMS with error 21610 (the number texted STOP) also records the number as " +
			"opted out. A form without a SID or with an unknown status is 422. 404 when Twilio is not configured. Form " +
			"bodies up to 64 KiB.",
		Errors: callbackErrors}, "")
	op.MaxBodyBytes = maxTwilioCallbackBytes + 1
	huma.Register(a, op, handle(s, s.twilioStatus))
	s.documentRawBody(op, "application/x-www-form-urlencoded", twilioFormSchema(
		"Twilio's status callback: MessageSid (or SmsSid), MessageStatus, ErrorCode, To, ...; or CallSid, CallStatus, ..."))

	op = s.op(huma.Operation{OperationID: "twilio-inbound-sms", Method: http.MethodPost, Path: "/api/v1/webhooks/twilio/inbound", Tags: []string{tagWebhooks},
		Summary: "Twilio incoming-message webhook: STOP and START",
		Description: "Point the Twilio number's (or Messaging Service's) incoming-message webhook here. The signature is " +
			"checked as for status callbacks. A message that is a STOP word (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) " +
			"or that Twilio's Advanced Opt-Out marks OptOutType=STOP records the sending number as opted out: it is never " +
			"texted again (except EMERGENCY messages where the district's policy allows it). START, YES or UNSTOP clears " +
			"it. Other messages are acknowledged and not stored: replies by SMS are not read. The answer is an empty TwiML " +
			"response (Twilio sends its own STOP/START confirmation). 404 when Twilio is not configured.",
		Errors: callbackErrors}, "")
	op.MaxBodyBytes = maxTwilioCallbackBytes + 1
	op.Responses = map[string]*huma.Response{"200": {
		Description: "An empty TwiML response",
		Content:     map[string]*huma.MediaType{"text/xml": {Schema: &huma.Schema{Type: "string", Examples: []any{emptyTwiML}}}},
	}}
	huma.Register(a, op, handle(s, s.twilioInbound))
	s.documentRawBody(op, "application/x-www-form-urlencoded", twilioFormSchema(
		"Twilio's incoming-message webhook: MessageSid, From, To, Body, OptOutType, ..."))

	var verifier *sendgrid.Verifier
	var keyErr error
	if s.cfg.SendGridWebhookKey != "" {
		verifier, keyErr = sendgrid.NewVerifier(s.cfg.SendGridWebhookKey, s.now)
		if keyErr != nil {
			s.log.Error("the SendGrid webhook verification key is invalid: SendGrid events will be refused with 503", "error", keyErr.Error())
		}
	}
	op = s.op(huma.Operation{OperationID: "sendgrid-events", Method: http.MethodPost, Path: "/api/v1/webhooks/sendgrid/events", Tags: []string{tagWebhooks},
		Summary: "SendGrid Event Webhook (signed)", DefaultStatus: http.StatusNoContent,
		Description: "For email relayed through SendGrid. Enable the Signed Event Webhook and configure its verification key " +
			"on this server; the ECDSA signature (X-Twilio-Email-Event-Webhook-Signature over " +
			"X-Twilio-Email-Event-Webhook-Timestamp and the raw body) is checked, and a missing or wrong signature, or a " +
			"timestamp more than 10 minutes from the server's clock, is 403 and changes nothing. Each event finds its " +
			"delivery by smtp-id, the Message-ID we sent, and moves it forward only: delivered, open and click: DELIVERED; " +
			"bounce (hard): BOUNCED and the address suppressed; bounce of type blocked: FAILED; dropped: FAILED (the " +
			"address suppressed when dropped as a bounced, spam-reporting, unsubscribed or invalid address); spamreport: " +
			"BOUNCED and the address suppressed; unsubscribe and group_unsubscribe: the address suppressed. processed, " +
			"deferred and other events are ignored. A suppressed address is never emailed again. A body that is not a JSON " +
			"array is 422; 503 when the configured key is invalid (SendGrid retries); 404 when SendGrid is not " +
			"configured. Batches up to 1 MiB.",
		Errors: append(callbackErrors, http.StatusServiceUnavailable)}, "")
	op.MaxBodyBytes = maxSendGridBatchBytes + 1
	// The body is verified byte for byte before it is parsed, so huma must
	// not validate it (it would also refuse an array as "expected string").
	op.SkipValidateBody = true
	huma.Register(a, op, handle(s, func(ctx context.Context, in *sendgridInput) (*struct{}, error) {
		return s.sendgridEvents(ctx, in, verifier, keyErr)
	}))
	s.documentRawBody(op, "application/json", &huma.Schema{
		Type:        "array",
		Description: "SendGrid's events, as its Event Webhook posts them",
		Items:       &huma.Schema{Type: "object", AdditionalProperties: true},
	})
}

// documentRawBody replaces, in the spec, the "binary string" huma gives a
// raw body with what the provider actually posts.
func (s *Server) documentRawBody(op huma.Operation, contentType string, schema *huma.Schema) {
	s.api.OpenAPI().Paths[op.Path].Post.RequestBody.Content[contentType].Schema = schema
}

func twilioFormSchema(description string) *huma.Schema {
	return &huma.Schema{Type: "object", Description: description, AdditionalProperties: &huma.Schema{Type: "string"}}
}

// now is the server's clock.
func (s *Server) now() time.Time {
	if s.deps.Now != nil {
		return s.deps.Now()
	}
	return time.Now()
}

type twilioInput struct {
	Signature string `header:"X-Twilio-Signature" doc:"Twilio's signature of the request"`
	RawBody   []byte `contentType:"application/x-www-form-urlencoded"`
}

// verifyTwilio returns the form of a request Twilio signed.
func (s *Server) verifyTwilio(ctx context.Context, in *twilioInput) (url.Values, error) {
	if s.cfg.TwilioAuthToken == "" || s.deps.Callbacks == nil {
		return nil, errTwilioOff
	}
	form, err := url.ParseQuery(string(in.RawBody))
	if err != nil || !twilio.ValidateSignature(s.cfg.TwilioAuthToken, s.publicRequestURL(stateFrom(ctx).req), form, in.Signature) {
		s.log.WarnContext(ctx, "webhook signature refused", "request_id", requestIDFrom(ctx), "provider", twilio.ProviderName)
		return nil, errTwilioSignature
	}
	return form, nil
}

// publicRequestURL is the URL a provider called to reach r: the public URL
// (behind a proxy, what the provider sees) with r's path and query.
func (s *Server) publicRequestURL(r *http.Request) string {
	base := strings.TrimRight(s.cfg.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + r.URL.RequestURI()
}

// twilioStatus hands a signed status callback, decoded, to the callbacks'
// rules (package delivery).
func (s *Server) twilioStatus(ctx context.Context, in *twilioInput) (*struct{}, error) {
	form, err := s.verifyTwilio(ctx, in)
	if err != nil {
		return nil, err
	}
	ev, err := twilio.ParseStatusCallback(form)
	if err != nil {
		return nil, err
	}
	// Deliveries are matched by the name of the provider that sent them
	// (deliveries.provider) and its id.
	out, err := s.deps.Callbacks.SendReported(ctx, whitecross.SendReport{
		Provider: twilio.ProviderName, ProviderID: ev.ProviderID, Channel: ev.Channel, Status: ev.Status,
		Error: ev.Reason(), Code: ev.ErrorCode, OptedOut: ev.OptedOut, To: form.Get("To"),
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "twilio status callback", "request_id", requestIDFrom(ctx),
		"channel", string(ev.Channel), "twilio_status", ev.ProviderStatus, "changed", out.Changed, "opted_out", out.OptedOut)
	return nil, nil
}

type twimlOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *Server) twilioInbound(ctx context.Context, in *twilioInput) (*twimlOutput, error) {
	form, err := s.verifyTwilio(ctx, in)
	if err != nil {
		return nil, err
	}
	msg, err := twilio.ParseInbound(form)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Callbacks.SMSReceived(ctx, whitecross.InboundSMS{From: msg.From, Keyword: msg.Keyword}); err != nil {
		return nil, err
	}
	// The number and the text are personal data: only the keyword is logged.
	s.log.InfoContext(ctx, "twilio inbound sms", "request_id", requestIDFrom(ctx), "keyword", string(msg.Keyword))
	return &twimlOutput{ContentType: "text/xml; charset=utf-8", Body: []byte(emptyTwiML)}, nil
}

type sendgridInput struct {
	Signature string `header:"X-Twilio-Email-Event-Webhook-Signature" doc:"base64 ECDSA signature"`
	Timestamp string `header:"X-Twilio-Email-Event-Webhook-Timestamp" doc:"Unix time of the signing"`
	RawBody   []byte `contentType:"application/json"`
}

func (s *Server) sendgridEvents(ctx context.Context, in *sendgridInput, v *sendgrid.Verifier, keyErr error) (*struct{}, error) {
	if s.cfg.SendGridWebhookKey == "" || s.deps.Callbacks == nil {
		return nil, errSendGridOff
	}
	if keyErr != nil {
		return nil, errSendGridKey
	}
	if err := v.Verify(in.Signature, in.Timestamp, in.RawBody); err != nil {
		s.log.WarnContext(ctx, "webhook signature refused", "request_id", requestIDFrom(ctx), "provider", "sendgrid",
			"replay", errors.Is(err, sendgrid.ErrReplay))
		return nil, err
	}
	events, err := sendgrid.ParseEvents(in.RawBody)
	if err != nil {
		return nil, err
	}
	// An error stops the batch with a 500 so that SendGrid posts it again;
	// events already applied change nothing the second time.
	changed, suppressed := 0, 0
	for _, ev := range events {
		out, err := s.deps.Callbacks.SendReported(ctx, sendgridReport(ev))
		if err != nil {
			return nil, err
		}
		changed, suppressed = changed+count(out.Changed), suppressed+count(out.Suppressed)
	}
	s.log.InfoContext(ctx, "sendgrid events", "request_id", requestIDFrom(ctx),
		"events", len(events), "changed", changed, "suppressed", suppressed)
	return nil, nil
}

// sendgridReport is a SendGrid event as a report on the email it names.
// Email goes out through our SMTP provider, SendGrid being the relay, so
// its events match deliveries sent by "smtp". An event without a
// timestamp (At zero) takes the store's clock.
func sendgridReport(ev sendgrid.Event) whitecross.SendReport {
	eff := ev.Effect()
	return whitecross.SendReport{Provider: smtp.ProviderName, ProviderID: ev.MessageID, Channel: whitecross.ChannelEmail,
		Status: eff.Status, Error: eff.Error, To: ev.Email, Suppress: eff.Suppress, At: ev.At}
}

// count is 1 for true, for tallies in logs.
func count(b bool) int {
	if b {
		return 1
	}
	return 0
}
