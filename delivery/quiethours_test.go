package delivery_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/provider/capture"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestQuietHoursHoldTextsUntilMorningButNotEmergencies: the district's
// quiet hours (21:00-07:00 in America/Chicago; the test clock starts
// before 07:00 there) hold an SMS of an ordinary message until 07:00 without
// spending attempts, while its email goes at once and an URGENT SMS is
// texted at once.
func TestQuietHoursHoldTextsUntilMorningButNotEmergencies(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		chicago, err := time.LoadLocation("America/Chicago")
		require.NoError(t, err)
		require.Equal(t, "America/Chicago", b.d.Tenant.Timezone)
		start := b.clock.Now().In(chicago)
		require.Less(t, start.Hour(), 7, "the test starts in the small hours")
		morning := time.Date(start.Year(), start.Month(), start.Day(), 7, 0, 0, 0, chicago)
		b.setSettings(t, `{"quiet_hours_start":"21:00","quiet_hours_end":"07:00"}`)
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(9))

		in := message("Picture day is Friday", []string{parent.ID})
		in.Channels = []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS}
		m := b.send(t, in)
		b.waitDelivered(t, b.mustDelivery(t, m.ID, parent, whitecross.ChannelEmail).ID)

		urgent := message("Pick up your child by 2", []string{parent.ID})
		urgent.Priority, urgent.Channels = whitecross.PriorityUrgent, []whitecross.Channel{whitecross.ChannelSMS}
		u := b.send(t, urgent)
		b.waitDelivered(t, b.mustDelivery(t, u.ID, parent, whitecross.ChannelSMS).ID)
		texts := b.outbox[whitecross.ChannelSMS].List(capture.Filter{})
		require.Len(t, texts, 1, "only the urgent message is texted at night")
		require.Contains(t, texts[0].Outbound.Text, "Pick up your child by 2")

		sms := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
		b.driveUntil(t, "the held SMS delivered", 15*time.Minute, func() bool {
			got := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
			if got.Status == "PENDING" {
				return false
			}
			require.False(t, b.clock.Now().Before(morning), "texted at %s, before quiet hours ended", b.clock.Now().In(chicago))
			return true
		})
		got := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
		require.Equal(t, "DELIVERED", got.Status)
		require.Equal(t, 0, got.Attempts-1, "waiting spent no attempt")
		require.Equal(t, []string{"PENDING", "DELIVERED delivered by capture (capture-2)"}, b.timeline(t, sms.ID))
		require.Len(t, b.outbox[whitecross.ChannelSMS].List(capture.Filter{}), 2)
	})
}
