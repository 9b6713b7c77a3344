package whitecross

import (
	"testing"
	"time"
)

func TestQuietUntil(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, chicago)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	overnight := TenantSettings{QuietHoursStart: "21:00", QuietHoursEnd: "07:00"}
	afternoon := TenantSettings{QuietHoursStart: "13:00", QuietHoursEnd: "14:30"}
	for _, c := range []struct {
		name     string
		settings TenantSettings
		at       time.Time
		until    string // "" when not quiet
	}{
		{"evening, before the start", overnight, at("2026-05-04 20:59"), ""},
		{"at the start", overnight, at("2026-05-04 21:00"), "2026-05-05 07:00"},
		{"before midnight", overnight, at("2026-05-04 23:30"), "2026-05-05 07:00"},
		{"after midnight", overnight, at("2026-05-05 04:30"), "2026-05-05 07:00"},
		{"at the end", overnight, at("2026-05-05 07:00"), ""},
		{"midday", overnight, at("2026-05-05 12:00"), ""},
		{"same-day span", afternoon, at("2026-05-05 13:10"), "2026-05-05 14:30"},
		{"after a same-day span", afternoon, at("2026-05-05 14:30"), ""},
		{"end of month", overnight, at("2026-05-31 22:00"), "2026-06-01 07:00"},
		{"over the DST change, the end stays 07:00", overnight, at("2026-03-07 22:00"), "2026-03-08 07:00"},
		{"none set", TenantSettings{}, at("2026-05-05 02:00"), ""},
		{"equal times mean none", TenantSettings{QuietHoursStart: "07:00", QuietHoursEnd: "07:00"}, at("2026-05-05 07:00"), ""},
		{"unparsable", TenantSettings{QuietHoursStart: "9pm", QuietHoursEnd: "07:00"}, at("2026-05-05 02:00"), ""},
	} {
		until, quiet := c.settings.QuietUntil(c.at.UTC(), chicago)
		got := ""
		if quiet {
			got = until.In(chicago).Format("2006-01-02 15:04")
		}
		if got != c.until {
			t.Errorf("%s: QuietUntil(%s) = %q, want %q", c.name, c.at.Format(time.RFC3339), got, c.until)
		}
	}
}

func TestQuietHoursHoldOnlyInterruptingChannelsOfMessagesThatCanWait(t *testing.T) {
	for _, c := range []Channel{ChannelSMS, ChannelVoice, ChannelPush} {
		if !QuietHoursHold(c, false) {
			t.Errorf("%s of a message that can wait is not held", c)
		}
		if QuietHoursHold(c, true) {
			t.Errorf("%s of an urgent message is held", c)
		}
	}
	for _, c := range []Channel{ChannelEmail, ChannelInApp} {
		if QuietHoursHold(c, false) {
			t.Errorf("%s is held, but it wakes nobody", c)
		}
	}
}
