package whitecross

import (
	"time"
)

// Quiet hours keep a district's texts, calls and push notifications from
// waking families at night. They hold deliveries on the channels that
// interrupt (SMS, VOICE, PUSH) of messages that are not urgent until the
// quiet hours end; email and the in-app inbox are never held, and an
// EMERGENCY or URGENT message goes out at any hour.

// QuietHoursHold reports whether a delivery on channel c of a message that
// is urgent or not waits for the end of quiet hours.
func QuietHoursHold(c Channel, urgent bool) bool {
	return !urgent && (c == ChannelSMS || c == ChannelVoice || c == ChannelPush)
}

// QuietUntil reports whether at falls within the settings' quiet hours in
// loc (the district's timezone), and if so when they end. Start and end
// are "HH:MM" (24-hour); a start later than the end spans midnight ("21:00"
// to "07:00"); equal or unset times mean no quiet hours. The end is the
// wall-clock end in loc, so it stays 07:00 across a DST change.
func (s TenantSettings) QuietUntil(at time.Time, loc *time.Location) (time.Time, bool) {
	start, ok1 := clockMinutes(s.QuietHoursStart)
	end, ok2 := clockMinutes(s.QuietHoursEnd)
	if !ok1 || !ok2 || start == end {
		return time.Time{}, false
	}
	local := at.In(loc)
	now := local.Hour()*60 + local.Minute()
	y, m, d := local.Date()
	endOn := func(day int) time.Time { return time.Date(y, m, day, end/60, end%60, 0, 0, loc) }
	switch {
	case start < end && now >= start && now < end:
		return endOn(d), true
	case start > end && now >= start:
		return endOn(d + 1), true
	case start > end && now < end:
		return endOn(d), true
	}
	return time.Time{}, false
}

// clockMinutes parses "HH:MM" into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}
