package twilio

import (
	"encoding/xml"
	"strings"
	"unicode/utf8"
)

// maxTwiML is Twilio's limit on the Twiml parameter of a call.
const maxTwiML = 4000

// SayVoice is the <Say> language and voice for one locale. Twilio's default
// voice ("man") speaks only a few languages, and an invalid voice/language
// pair fails the <Say>, so every entry names a voice that speaks it.
type SayVoice struct {
	Language string
	Voice    string
}

// sayVoices maps a locale's primary language subtag to Twilio TTS.
var sayVoices = map[string]SayVoice{
	"en": {"en-US", "Google.en-US-Standard-C"},
	"es": {"es-US", "Google.es-US-Standard-A"},
	"fr": {"fr-FR", "Google.fr-FR-Standard-A"},
	"vi": {"vi-VN", "Google.vi-VN-Standard-A"},
	"zh": {"cmn-CN", "Google.cmn-CN-Standard-A"}, // Mandarin
	"pt": {"pt-BR", "Google.pt-BR-Standard-A"},
	"ko": {"ko-KR", "Google.ko-KR-Standard-A"},
	"ar": {"ar-XA", "Google.ar-XA-Standard-A"},
	"ru": {"ru-RU", "Google.ru-RU-Standard-A"},
	"ht": {"fr-FR", "Google.fr-FR-Standard-A"}, // no Haitian Creole TTS: French is closest
}

// VoiceFor returns the <Say> language and voice for a BCP 47 locale ("es",
// "es-MX", "zh_Hans"); unknown or empty locales read in US English.
func VoiceFor(locale string) SayVoice {
	primary, _, _ := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-")
	if v, ok := sayVoices[strings.ToLower(primary)]; ok {
		return v
	}
	return sayVoices["en"]
}

// VoiceTwiML is the TwiML a call reads: the text in the locale's voice, a
// one-second pause, and the text again. If that exceeds Twilio's 4000
// character limit the repeat is dropped, and then the text is cut at a word
// boundary so the call is still placed.
func VoiceTwiML(locale, text string) string {
	v := VoiceFor(locale)
	say := func(t string) string {
		var b strings.Builder
		b.WriteString(`<Say language="` + v.Language + `" voice="` + v.Voice + `">`)
		_ = xml.EscapeText(&b, []byte(t)) // writes to a Builder: cannot fail
		b.WriteString(`</Say>`)
		return b.String()
	}
	text = strings.TrimSpace(text)
	twice := "<Response>" + say(text) + `<Pause length="1"/>` + say(text) + "</Response>"
	if len(twice) <= maxTwiML {
		return twice
	}
	for {
		once := "<Response>" + say(text) + "</Response>"
		if len(once) <= maxTwiML || text == "" {
			return once
		}
		text = shorten(text, len(text)-(len(once)-maxTwiML))
	}
}

// shorten cuts s to at most n bytes, at a space when one is near, on a
// rune boundary always.
func shorten(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if n >= len(s) {
		n = len(s) - 1
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	cut := s[:n]
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut)
}
