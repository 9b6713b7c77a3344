package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/provider/capture"
	"whitecross/store"
	"whitecross/store/storetest"
)

// providerCases are the providers the pipeline benchmarks send to: the
// capture provider, which answers at once (deliveries are then bound by the
// database), and the same waiting 100 ms before it answers, as a real
// provider's API call does (deliveries are then bound by the sends in
// flight, the deliver lanes' workers).
var providerCases = []struct {
	name    string
	latency time.Duration
}{
	{"capture", 0},
	{"provider-100ms", 100 * time.Millisecond},
}

// BenchmarkDeliveryThroughput sends a message by EMAIL and SMS to 1,000
// people through the whole pipeline — dispatch, deliver jobs, the provider,
// the outcome recorded — with the production queue configuration on a
// production-sized database pool. See benchThroughput for the figures.
func BenchmarkDeliveryThroughput(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, c := range providerCases {
			b.Run(string(d)+"/"+c.name, func(b *testing.B) {
				benchThroughput(b, newPipelineBench(b, d, delivery.QueueConfig{}, c.latency), 1000)
			})
		}
	}
}

// BenchmarkDeliverLaneSizing is BenchmarkDeliveryThroughput with the
// deliver lane's workers set, to choose DefaultDeliverWorkers: with the
// capture provider it shows where the database becomes the limit, with the
// 100 ms provider what more workers buy when sends are I/O bound. Read its
// sending/s: with 500 recipients, the fixed first-ms weighs on
// deliveries/s.
func BenchmarkDeliverLaneSizing(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, c := range providerCases {
			for _, workers := range []int{16, 32, 64} {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", d, c.name, workers), func(b *testing.B) {
					benchThroughput(b, newPipelineBench(b, d, delivery.QueueConfig{DeliverWorkers: workers}, c.latency), 500)
				})
			}
		}
	}
}

// benchThroughput sends messages by EMAIL and SMS to n people and reports
// deliveries/s, from each accepted send (SendMessage returns) to its last
// delivery recorded DELIVERED; first-ms, from the accepted send to the
// first (the dispatch, and the lane noticing the new jobs); and sending/s,
// the rate from the first to the last, which the deliver lane alone sets.
func benchThroughput(b *testing.B, p *pipelineBench, n int) {
	b.Helper()
	recipients := p.recipients(b, n)
	channels := []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS}
	want := n * len(channels)
	var elapsed, first time.Duration
	sends := 0
	for b.Loop() {
		in := message("Newsletter", recipients)
		in.Channels = channels
		m := p.send(b, in)
		accepted := time.Now()
		elapsed += p.progress.waitRecorded(b, m.ID, want).Sub(accepted)
		first += p.progress.waitRecorded(b, m.ID, 1).Sub(accepted)
		sends++
	}
	b.ReportMetric(float64(sends*want)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(first.Milliseconds())/float64(sends), "first-ms")
	b.ReportMetric(float64(sends*(want-1))/(elapsed-first).Seconds(), "sending/s")
}

// BenchmarkDeliveryOf10000 sends a 10,000-recipient message by EMAIL to
// the capture provider and reports the time from accepting it (SendMessage
// returns) to its first and its last delivery handed to the provider
// (first-ms, last-s). Once the first is handed over, while the rest wait,
// EMERGENCY messages go by SMS to one person, one after the other:
// emergency-ms is the mean time from accepting one to its SMS handed to the
// provider, emergency-max-ms the longest. Their lane keeps them out of the
// backlog's queue; what they still share with it is the database (and here
// the machine).
func BenchmarkDeliveryOf10000(b *testing.B) {
	const audience, emergencies = 10000, 5
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			p := newPipelineBench(b, d, delivery.QueueConfig{}, 0)
			recipients := p.recipients(b, audience)
			colleague := p.d.LincolnStaff
			_, err := p.st.UpdateUser(p.d.System(), colleague.ID, &whitecross.UserUpdate{Phone: new(phoneOf(1))})
			require.NoError(b, err)
			var first, last, emergency, emergencyMax time.Duration
			sends := 0
			for b.Loop() {
				in := message("Newsletter", recipients)
				in.Channels = []whitecross.Channel{whitecross.ChannelEmail}
				m := p.send(b, in)
				accepted := time.Now()
				first += p.progress.waitHandedOver(b, m.ID, 1).Sub(accepted)
				for range emergencies {
					alert := message("Shelter in place", []string{colleague.ID})
					alert.Category, alert.Channels = whitecross.CategoryEmergency, []whitecross.Channel{whitecross.ChannelSMS}
					e := p.sendAs(b, p.d.LincolnAdmin, alert)
					alertAccepted := time.Now()
					took := p.progress.waitHandedOver(b, e.ID, 1).Sub(alertAccepted)
					emergency += took
					emergencyMax = max(emergencyMax, took)
				}
				require.Less(b, p.progress.count(m.ID, handedOver), audience, "the emergencies came after the backlog was gone")
				last += p.progress.waitHandedOver(b, m.ID, audience).Sub(accepted)
				sends++
			}
			b.ReportMetric(float64(first.Milliseconds())/float64(sends), "first-ms")
			b.ReportMetric(last.Seconds()/float64(sends), "last-s")
			b.ReportMetric(float64(emergency.Milliseconds())/float64(sends*emergencies), "emergency-ms")
			b.ReportMetric(float64(emergencyMax.Milliseconds()), "emergency-max-ms")
		})
	}
}

// pipelineBench is the delivery pipeline as `serve` runs it: the default
// QueueConfig, real clocks, capture for every external channel.
type pipelineBench struct {
	db       *store.DB
	st       *store.Store
	d        *storetest.District
	progress *progress
}

// newPipelineBench starts the pipeline on a new database of dialect d with
// cfg (zero for the defaults); each provider send waits latency first.
func newPipelineBench(b *testing.B, d store.Dialect, cfg delivery.QueueConfig, latency time.Duration) *pipelineBench {
	b.Helper()
	db := openProductionDB(b, d)
	st := store.New(db, storetest.InsecureHasher(), testSealer(b))
	p := &pipelineBench{db: db, st: st, d: storetest.SeedDistrict(b, st), progress: newProgress()}
	providers := map[whitecross.Channel]delivery.Provider{}
	for _, c := range []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS, whitecross.ChannelVoice, whitecross.ChannelPush} {
		outbox := capture.New(0, nil)
		outbox.SetDelay(latency)
		providers[c] = delivery.Provider{Name: "capture", Sender: countingSender{outbox, p.progress}}
	}
	cfg.Deliver = delivery.DeliverConfig{Store: recordingStore{st, p.progress}, Providers: providers, PublicURL: testPublicURL}
	// A message in a recipient's inbox is seen as the recipient's
	// message.created (the senders' own, for their sent box, are not
	// inboxes); recorded deliveries as the deliver workers' store answers
	// (recordingStore: a large message's sender gets coalesced events).
	senders := []string{p.d.LincolnNurse.ID, p.d.LincolnAdmin.ID}
	st.SetEventNotifier(func(_ context.Context, evs []whitecross.Event) {
		for _, ev := range evs {
			if ev.Type == whitecross.EventMessageCreated && !slices.Contains(senders, strings.ToLower(ev.UserID)) {
				p.progress.add(ev.MessageID, inInbox)
			}
		}
	})
	q, err := delivery.NewQueue(db, st, cfg, slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	st.SetDispatchQueue(q)
	require.NoError(b, q.Start(context.Background()))
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			b.Errorf("stop queue: %v", err)
		}
	})
	return p
}

// openProductionDB is storetest.Open with the production connection pool:
// pgxpool's default size, not the tests' larger one (SQLite is the same).
func openProductionDB(b *testing.B, d store.Dialect) *store.DB {
	b.Helper()
	if d == store.SQLite {
		return storetest.Open(b, d)
	}
	url := storetest.PostgresURL(b)
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(b, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = storetest.NewPostgresSchema(b, url)
	db, err := store.OpenPostgresConfig(context.Background(), cfg)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	_, err = db.Migrate(context.Background())
	require.NoError(b, err)
	return db
}

// recipients adds n Lincoln staff with an email address and a phone number.
func (p *pipelineBench) recipients(b *testing.B, n int) []string {
	b.Helper()
	ids := storetest.BulkStaff(b, p.db, p.d.Tenant.ID, p.d.Lincoln.ID, n)
	ctx := context.Background()
	require.NoError(b, p.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET phone = $1 WHERE tenant_id = $2 AND name = 'Bulk Staff'`, phoneOf(0), p.d.Tenant.ID)
		return err
	}))
	return ids
}

// send sends from the Lincoln nurse.
func (p *pipelineBench) send(b *testing.B, in *whitecross.MessageCreate) *whitecross.Message {
	b.Helper()
	return p.sendAs(b, p.d.LincolnNurse, in)
}

// sendAs sends from u (an administrator for an EMERGENCY).
func (p *pipelineBench) sendAs(b *testing.B, u *whitecross.User, in *whitecross.MessageCreate) *whitecross.Message {
	b.Helper()
	m, err := p.st.SendMessage(p.d.As(u), in)
	require.NoError(b, err)
	return m
}

// recordingStore is the store as the deliver workers use it, noting each
// delivery whose DELIVERED outcome committed.
type recordingStore struct {
	*store.Store
	progress *progress
}

func (s recordingStore) RecordDeliveryOutcomes(ctx context.Context, recs []store.OutcomeRecord) ([]store.OutcomeResult, error) {
	res, err := s.Store.RecordDeliveryOutcomes(ctx, recs)
	for _, r := range res {
		if r.Change != nil && r.Change.Delivery.Status == whitecross.DeliveryDelivered {
			s.progress.add(r.Change.MessageID, recorded)
		}
	}
	return res, err
}

// countingSender counts each send for its message (the last element of
// the link) as it is handed over, then gives it to a capture outbox.
type countingSender struct {
	outbox   *capture.Outbox
	progress *progress
}

func (s countingSender) Send(ctx context.Context, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	s.progress.add(path.Base(out.Link), handedOver)
	return s.outbox.Send(ctx, out)
}

// Progress stages of one delivery.
const (
	handedOver = iota // given to the provider
	recorded          // DELIVERED committed
	inInbox           // the recipient's inbox row committed (message.created)
)

// progress records, per message and stage, when each delivery reached it.
type progress struct {
	mu      sync.Mutex
	times   map[progressKey][]time.Time
	changed chan struct{} // signalled after each add
}

type progressKey struct {
	messageID string
	stage     int
}

func newProgress() *progress {
	return &progress{times: map[progressKey][]time.Time{}, changed: make(chan struct{}, 1)}
}

func (p *progress) add(messageID string, stage int) {
	now := time.Now()
	key := progressKey{messageID, stage}
	p.mu.Lock()
	p.times[key] = append(p.times[key], now)
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// benchWaitTimeout bounds one wait: far above any expected figure.
const benchWaitTimeout = 30 * time.Minute

// wait returns when the n-th delivery of the message reached stage,
// failing the benchmark after benchWaitTimeout.
func (p *progress) wait(b *testing.B, messageID string, stage, n int) time.Time {
	b.Helper()
	key := progressKey{messageID, stage}
	deadline := time.NewTimer(benchWaitTimeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		times := p.times[key]
		p.mu.Unlock()
		got := len(times)
		if got >= n {
			return times[n-1]
		}
		select {
		case <-p.changed:
		case <-deadline.C:
			b.Fatalf("%d of %d deliveries of message %s at stage %d within %s", got, n, messageID, stage, benchWaitTimeout)
		}
	}
}

// count is how many deliveries of the message reached stage so far.
func (p *progress) count(messageID string, stage int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.times[progressKey{messageID, stage}])
}

func (p *progress) waitHandedOver(b *testing.B, messageID string, n int) time.Time {
	b.Helper()
	return p.wait(b, messageID, handedOver, n)
}

func (p *progress) waitRecorded(b *testing.B, messageID string, n int) time.Time {
	b.Helper()
	return p.wait(b, messageID, recorded, n)
}
