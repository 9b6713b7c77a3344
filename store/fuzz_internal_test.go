package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"whitecross"
)

// FuzzPairCursor: a page cursor round-trips (key and lower-cased id come
// back as they went in), and whatever a client sends as a cursor decodes
// without panicking to a pair that round-trips too, or is refused.
func FuzzPairCursor(f *testing.F) {
	f.Add("Garcia, Ana", "0F8FAD5B-D9CB-469F-A165-70867728950E", "")
	f.Add("", "not-an-id", "WyJhIiwiYiJd")
	f.Add("2026-12-07T10:00:00Z", "0f8fad5b-d9cb-469f-a165-70867728950e", "WyJ4IiwiMGY4ZmFkNWItZDljYi00NjlmLWExNjUtNzA4Njc3Mjg5NTBlIl0")
	f.Add("\xff", "{0f8fad5b-d9cb-469f-a165-70867728950e}", "%%%")
	f.Fuzz(func(t *testing.T, key, id, cursor string) {
		if canon, ok := parseID(id); ok && utf8.ValidString(key) {
			gotKey, gotID, ok := decodePairCursor(encodePairCursor(key, canon), 1<<20)
			if !ok || gotKey != key || gotID != canon {
				t.Fatalf("cursor of (%q, %q) decodes to (%q, %q, %v)", key, canon, gotKey, gotID, ok)
			}
		}
		k, i, ok := decodePairCursor(cursor, 512)
		if !ok {
			return
		}
		if canon, valid := parseID(i); !valid || canon != i {
			t.Fatalf("cursor %q gives id %q", cursor, i)
		}
		if k2, i2, ok := decodePairCursor(encodePairCursor(k, i), 1<<20); !ok || k2 != k || i2 != i {
			t.Fatalf("cursor %q: (%q, %q) does not round-trip", cursor, k, i)
		}
	})
}

// FuzzValidateMessage: whatever subject, body and format a sender posts,
// validation never panics, refuses with a field error, or accepts a
// message whose text every channel can carry: a one-line subject and a
// body in valid UTF-8 within their limits, the body without NUL, a known
// format.
func FuzzValidateMessage(f *testing.F) {
	f.Add("Field trip", "Bring **water**.", "MARKDOWN")
	f.Add("  a\tb ", "\x00", "")
	f.Add("line\nbreak", " ", "HTML")
	f.Add("\xc3", "ok\xff", "PLAIN")
	f.Add(strings.Repeat("é", whitecross.MaxSubjectChars+1), strings.Repeat("x", 10), "PLAIN")
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	recipient := []string{"0f8fad5b-d9cb-469f-a165-70867728950e"}
	f.Fuzz(func(t *testing.T, subject, body, format string) {
		d, err := validateMessage(&whitecross.MessageCreate{RecipientIDs: recipient, Subject: subject, Body: body,
			BodyFormat: whitecross.BodyFormat(format)}, now)
		if err != nil {
			var fe *whitecross.Error
			if !errors.As(err, &fe) || fe.Code != whitecross.EINVALID {
				t.Fatalf("refused with %v, want EINVALID", err)
			}
			return
		}
		switch {
		case d.subject == "" || !utf8.ValidString(d.subject) || strings.ContainsFunc(d.subject, unicode.IsControl) ||
			utf8.RuneCountInString(d.subject) > whitecross.MaxSubjectChars:
			t.Fatalf("subject %q accepted", d.subject)
		case strings.TrimSpace(d.body) == "" || !utf8.ValidString(d.body) || strings.ContainsRune(d.body, 0) ||
			utf8.RuneCountInString(d.body) > whitecross.MaxBodyChars:
			t.Fatalf("body %q accepted", d.body)
		case !slices.Contains(whitecross.BodyFormats, d.format):
			t.Fatalf("format %q accepted", d.format)
		}
	})
}
