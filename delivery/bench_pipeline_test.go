package delivery_test

import (
	"os"
	"strconv"
	"context"
	"fmt"
	"log/slog"
	"path"
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

// BenchmarkDeliveryThroughput sends messages by EMAIL and SMS to the
// capture provider through the whole pipeline — dispatch, deliver jobs,
// the provider, the outcome recorded — with the production queue
// configuration on a production-sized database pool. It reports
// deliveries/s: deliveries recorded DELIVERED per second, from the accepted
// send to the last one. "provider-100ms" makes every send wait 100 ms, as a
// real provider's API call does: deliveries are then I/O bound.
func BenchmarkDeliveryThroughput(b *testing.B) {
	cases := []struct {
		name       string
		latency    time.Duration
		recipients int
	}{
		{"capture", 0, 1000},
		{"provider-100ms", 100 * time.Millisecond, 500},
	}
	for _, d := range storetest.Dialects {
		for _, c := range cases {
			b.Run(string(d)+"/"+c.name, func(b *testing.B) {
				benchThroughput(b, newPipelineBench(b, d, delivery.QueueConfig{}, c.latency), c.recipients)
			})
		}
	}
}

// BenchmarkDeliverLaneSizing is BenchmarkDeliveryThroughput with the
// deliver lane's workers set, to choose DefaultDeliverWorkers: the instant
// capture provider shows where the database becomes the limit, a provider
// answering in 100 ms what more workers buy when sends are I/O bound.
func BenchmarkDeliverLaneSizing(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, latency := range []time.Duration{0, 100 * time.Millisecond} {
			for _, workers := range []int{16, 32, 64, 128} {
				b.Run(fmt.Sprintf("%s/latency=%s/workers=%d", d, latency, workers), func(b *testing.B) {
					benchThroughput(b, newPipelineBench(b, d, delivery.QueueConfig{DeliverWorkers: workers}, latency), 1000)
				})
			}
		}
	}
}

// benchThroughput sends messages by EMAIL and SMS to n recipients and
// reports deliveries/s, from each accepted send to its last delivery
// recorded DELIVERED; first-ms, from the accepted send to the first one
// (the dispatch, and the lane noticing the new jobs); and sending/s, the
// rate from the first to the last, which the deliver lane alone sets.
func benchThroughput(b *testing.B, p *pipelineBench, n int) {
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

// BenchmarkDeliveryOf10000 sends a 10,000-recipient message by EMAIL to the
// capture provider and reports the time from accepting it (SendMessage
// returns) to its first and its last delivery handed to the provider
// (first-ms, last-s). Once the first is handed over, while the other 9,999
// wait, an EMERGENCY goes by SMS to one person: emergency-ms is the time from
// accepting it to its SMS handed to the provider, which the lanes keep
// independent of the backlog.
func BenchmarkDeliveryOf10000(b *testing.B) {
	const audience = 10000
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			p := newPipelineBench(b, d, delivery.QueueConfig{}, 0)
			recipients := p.recipients(b, audience)
			colleague := p.d.LincolnStaff
			_, err := p.st.UpdateUser(p.d.System(), colleague.ID, &whitecross.UserUpdate{Phone: new(phoneOf(1))})
			require.NoError(b, err)
			var first, last, emergency time.Duration
			sends := 0
			for b.Loop() {
				in := message("Newsletter", recipients)
				in.Channels = []whitecross.Channel{whitecross.ChannelEmail}
				m := p.send(b, in)
				accepted := time.Now()
				first += p.progress.waitHandedOver(b, m.ID, 1).Sub(accepted)

				alert := message("Shelter in place", []string{colleague.ID})
				alert.Category, alert.Channels = whitecross.CategoryEmergency, []whitecross.Channel{whitecross.ChannelSMS}
				e := p.send(b, alert)
				alertAccepted := time.Now()
				emergency += p.progress.waitHandedOver(b, e.ID, 1).Sub(alertAccepted)

				last += p.progress.waitHandedOver(b, m.ID, audience).Sub(accepted)
				sends++
			}
			b.ReportMetric(float64(first.Milliseconds())/float64(sends), "first-ms")
			b.ReportMetric(last.Seconds()/float64(sends), "last-s")
			b.ReportMetric(float64(emergency.Milliseconds())/float64(sends), "emergency-ms")
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
	cfg.Deliver = delivery.DeliverConfig{
		Store: st, Providers: providers, PublicURL: testPublicURL,
		Observe: func(_ context.Context, c *whitecross.DeliveryChange) {
			if c.Delivery.Status == whitecross.DeliveryDelivered {
				p.progress.add(c.MessageID, recorded)
			}
		},
	}
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
	if n, _ := strconv.Atoi(os.Getenv("WC_POOL")); n > 0 {
		cfg.MaxConns = int32(n)
	}
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
	require.NoError(b, p.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET phone = $1 WHERE tenant_id = $2 AND name = 'Bulk Staff'`, phoneOf(0), p.d.Tenant.ID)
		return err
	}))
	return ids
}

// send sends from the Lincoln nurse.
func (p *pipelineBench) send(b *testing.B, in *whitecross.MessageCreate) *whitecross.Message {
	b.Helper()
	m, err := p.st.SendMessage(p.d.As(p.d.LincolnNurse), in)
	require.NoError(b, err)
	return m
}

// countingSender hands each send to a capture outbox and counts it for its
// message (the last element of the link) once accepted.
type countingSender struct {
	outbox   *capture.Outbox
	progress *progress
}

func (s countingSender) Send(ctx context.Context, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	res, err := s.outbox.Send(ctx, out)
	if err == nil {
		s.progress.add(path.Base(out.Link), handedOver)
	}
	return res, err
}

// Progress stages of one delivery.
const (
	handedOver = iota // the provider accepted it
	recorded          // DELIVERED committed
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

func (p *progress) waitHandedOver(b *testing.B, messageID string, n int) time.Time {
	b.Helper()
	return p.wait(b, messageID, handedOver, n)
}

func (p *progress) waitRecorded(b *testing.B, messageID string, n int) time.Time {
	b.Helper()
	return p.wait(b, messageID, recorded, n)
}
