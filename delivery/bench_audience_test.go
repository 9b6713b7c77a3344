package delivery_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/store/storetest"
)

// The broadcast benchmarks of issue 13: a school admin's message to every
// guardian of Lincoln, 1,000, 10,000 or 100,000 of them
// (storetest.BroadcastSizes; the largest only with
// WHITECROSS_BENCH_LARGE=1), each with one child there and an email
// address and phone number (storetest.BulkGuardians).

// broadcast is the school admin's message to Lincoln's guardians.
func broadcast(d *storetest.District, channels ...whitecross.Channel) *whitecross.MessageCreate {
	return &whitecross.MessageCreate{Subject: "Newsletter", Body: "Body of Newsletter", Channels: channels,
		Audience: &whitecross.Audience{LocationIDs: []string{d.Lincoln.ID}, Roles: []whitecross.Role{whitecross.RoleGuardian}}}
}

// BenchmarkBroadcastAccept measures accepting a broadcast by EMAIL
// (SendMessage returns): validation, the audience's checks, the sealed
// message row, its audit event and its dispatch job inserted into the real
// River queue, whose workers do not run here, so every iteration measures
// the send alone. Its time must not grow with the audience.
func BenchmarkBroadcastAccept(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, n := range storetest.BroadcastSizes {
			b.Run(fmt.Sprintf("%s/%d", d, n), func(b *testing.B) {
				storetest.SkipLargeBench(b, n)
				sb := newSendBundle(b, openProductionDB(b, d), delivery.QueueConfig{}, false)
				storetest.BulkGuardians(b, sb.db, sb.d.Tenant.ID, sb.d.Lincoln.ID, "3", n)
				ctx := sb.d.As(sb.d.LincolnAdmin)
				// One send first, untimed: the process's first (key and
				// statement caches, River's first insert) is not the subject.
				_, err := sb.st.SendMessage(ctx, broadcast(sb.d, whitecross.ChannelEmail))
				require.NoError(b, err)
				for b.Loop() {
					m, err := sb.st.SendMessage(ctx, broadcast(sb.d, whitecross.ChannelEmail))
					require.NoError(b, err)
					require.Equal(b, whitecross.MessageSending, m.Status)
				}
			})
		}
	}
}

// BenchmarkBroadcast sends the broadcast through the whole pipeline as
// `serve` runs it (newPipelineBench: production queue settings and pool,
// the capture provider), first in-app only, then by EMAIL too, and
// reports, each from the accepted send:
//   - accept-ms: SendMessage itself;
//   - inbox-first-s and inbox-s: the first and the last recipient's inbox
//     row committed (the audience is resolved whole before the first; the
//     last commits with the message turning SENT);
//   - email-first-s, email-s: the first and the last email handed to the
//     provider, and email-recorded-s the last outcome committed;
//   - emergency-ms, emergency-max-ms: from the start of sending an
//     EMERGENCY SMS to one colleague until it is handed to the provider,
//     mean and longest, one every emergencyEvery while the broadcast
//     drains (emergencies: how many).
func BenchmarkBroadcast(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, n := range storetest.BroadcastSizes {
			b.Run(fmt.Sprintf("%s/%d", d, n), func(b *testing.B) {
				storetest.SkipLargeBench(b, n)
				p := newPipelineBench(b, d, delivery.QueueConfig{}, 0)
				storetest.BulkGuardians(b, p.db, p.d.Tenant.ID, p.d.Lincoln.ID, "3", n)
				_, err := p.st.UpdateUser(p.d.System(), p.d.LincolnStaff.ID, &whitecross.UserUpdate{Phone: new(phoneOf(1))})
				require.NoError(b, err)
				b.Run("in-app", func(b *testing.B) { benchBroadcast(b, p) })
				b.Run("email", func(b *testing.B) { benchBroadcast(b, p, whitecross.ChannelEmail) })
			})
		}
	}
}

// emergencyEvery spaces the EMERGENCY SMS sent while a broadcast drains.
const emergencyEvery = 2 * time.Second

// benchBroadcast sends the broadcast on channels and waits until it has
// reached every inbox and every email address; see BenchmarkBroadcast.
func benchBroadcast(b *testing.B, p *pipelineBench, channels ...whitecross.Channel) {
	b.Helper()
	ctx := p.d.As(p.d.LincolnAdmin)
	preview, err := p.st.PreviewAudience(ctx, broadcast(p.d).Audience)
	require.NoError(b, err)
	people, emails := preview.Count, 0
	if slices.Contains(channels, whitecross.ChannelEmail) {
		emails = preview.Reachable[whitecross.ChannelEmail]
	}
	var accept, inboxFirst, inbox, emailFirst, email, recorded time.Duration
	var emergencies []time.Duration
	sends := 0
	for b.Loop() {
		start := time.Now()
		m, err := p.st.SendMessage(ctx, broadcast(p.d, channels...))
		require.NoError(b, err)
		accepted := time.Now()
		accept += accepted.Sub(start)
		emergencies = append(emergencies, p.emergenciesUntil(b, func() bool {
			return p.progress.count(m.ID, inInbox) >= people && p.progress.count(m.ID, handedOver) >= emails
		})...)
		inboxFirst += p.progress.wait(b, m.ID, inInbox, 1).Sub(accepted)
		inbox += p.progress.wait(b, m.ID, inInbox, people).Sub(accepted)
		require.Equal(b, people, p.progress.count(m.ID, inInbox), "one inbox row per person")
		require.Equal(b, 1, count(b, p.db, `SELECT COUNT(*) FROM messages WHERE id = $1 AND status = 'SENT' AND recipient_count = $2`,
			m.ID, people), "the message is SENT to the whole audience")
		if emails > 0 {
			emailFirst += p.progress.waitHandedOver(b, m.ID, 1).Sub(accepted)
			email += p.progress.waitHandedOver(b, m.ID, emails).Sub(accepted)
			recorded += p.progress.waitRecorded(b, m.ID, emails).Sub(accepted)
		}
		sends++
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(sends) }
	b.ReportMetric(float64(people), "people")
	b.ReportMetric(per(accept)*1000, "accept-ms")
	b.ReportMetric(per(inboxFirst), "inbox-first-s")
	b.ReportMetric(per(inbox), "inbox-s")
	if emails > 0 {
		b.ReportMetric(per(emailFirst), "email-first-s")
		b.ReportMetric(per(email), "email-s")
		b.ReportMetric(per(recorded), "email-recorded-s")
	}
	if len(emergencies) > 0 {
		var sum time.Duration
		for _, e := range emergencies {
			sum += e
		}
		b.ReportMetric(float64(sum.Milliseconds())/float64(len(emergencies)), "emergency-ms")
		b.ReportMetric(float64(slices.Max(emergencies).Milliseconds()), "emergency-max-ms")
		b.ReportMetric(float64(len(emergencies)), "emergencies")
	}
}

// emergenciesUntil sends an EMERGENCY SMS from Lincoln's school admin to
// Lincoln's staff member, one every emergencyEvery until drained reports
// true, each waited for until the provider has it, and returns how long
// each took from the start of its send.
func (p *pipelineBench) emergenciesUntil(b *testing.B, drained func() bool) []time.Duration {
	b.Helper()
	ctx := p.d.As(p.d.LincolnAdmin)
	var took []time.Duration
	for !drained() {
		alert := message("Shelter in place", []string{p.d.LincolnStaff.ID})
		alert.Category, alert.Channels = whitecross.CategoryEmergency, []whitecross.Channel{whitecross.ChannelSMS}
		start := time.Now()
		e, err := p.st.SendMessage(ctx, alert)
		require.NoError(b, err)
		took = append(took, p.progress.waitHandedOver(b, e.ID, 1).Sub(start))
		// Until the next one is due, wake on progress to notice the end.
		next := time.NewTimer(time.Until(start.Add(emergencyEvery)))
		for waiting := true; waiting && !drained(); {
			select {
			case <-p.progress.changed:
			case <-next.C:
				waiting = false
			}
		}
		next.Stop()
	}
	return took
}
