package sendgrid_test

import (
	"strings"
	"testing"
	"time"

	"whitecross/provider/sendgrid"
)

// FuzzParseEvents: whatever JSON reaches the event webhook, parsing never
// panics, message ids are in angle brackets or empty, and the error an
// event records is in our words: it never carries an address or the
// remote server's text (no "@" can come from our words or an SMTP status).
func FuzzParseEvents(f *testing.F) {
	for _, seed := range []string{
		`[{"event":"delivered","email":"a@b.org","timestamp":1700000000,"smtp-id":"<x@y>"}]`,
		`[{"event":"bounce","type":"blocked","status":"5.7.1","reason":"nope a@b.org","email":"a@b.org","timestamp":"17"}]`,
		`[{"event":"dropped","reason":"Bounced Address","smtp-id":"id with space"},{"event":1},null,[],"x"]`,
		`[{"event":"spamreport","timestamp":1e300,"status":"5.1.1 @"}]`,
		`{"event":"delivered"}`, `[`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := sendgrid.ParseEvents(body)
		if err != nil {
			return
		}
		for _, ev := range events {
			if id := ev.MessageID; id != "" && (!strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || strings.ContainsAny(id, " \t\r\n")) {
				t.Fatalf("message id %q", id)
			}
			if !ev.At.IsZero() && (ev.At.Unix() <= 0 || ev.At.Location() != time.UTC) {
				t.Fatalf("time %v", ev.At)
			}
			if eff := ev.Effect(); strings.Contains(eff.Error, "@") {
				t.Fatalf("error %q carries remote text", eff.Error)
			}
		}
	})
}
