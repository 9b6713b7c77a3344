package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"whitecross"
	"whitecross/store"
)

// Metrics are the delivery pipeline's Prometheus metrics. Labels are
// channels, statuses, provider names, queues and job states only: never
// ids, addresses or content. A nil *Metrics records nothing.
type Metrics struct {
	transitions  *prometheus.CounterVec
	sendDuration *prometheus.HistogramVec
	retries      *prometheus.CounterVec
	breakerState *prometheus.GaugeVec
	keyedOpen    *prometheus.GaugeVec
	throttles    *prometheus.CounterVec
	// pacing is the deliver worker's pacers, read at each scrape.
	pacing atomic.Pointer[pacers]
}

// Send outcomes, the outcome label of whitecross_provider_send_duration_seconds.
const (
	sendOK        = "success"
	sendTemporary = "temporary"
	sendPermanent = "permanent"
	sendCanceled  = "canceled"
	sendThrottled = "throttled"
)

// queueScrapeTimeout bounds the queue-depth query of one scrape.
const queueScrapeTimeout = 5 * time.Second

// NewMetrics creates the pipeline's metrics and registers them on reg
// (nil: not registered, for tests), with a collector that counts River's
// jobs per queue and state on db at each scrape (none when db is nil):
//
//   - whitecross_delivery_transitions_total{channel,status}: deliveries
//     that reached SENT, DELIVERED, FAILED or BOUNCED (by a worker or a
//     provider callback), counted by ObserveEvents;
//   - whitecross_provider_send_duration_seconds{provider,outcome}: each call
//     to a provider, outcome success, temporary, throttled, permanent or
//     canceled;
//   - whitecross_provider_throttled_total{provider,channel}: sends the
//     provider refused because we sent too fast (429), retried later;
//   - whitecross_provider_send_rate{channel}: the sends per second each
//     paced channel allows now on this instance (below the configured
//     rate for a while after a throttle);
//   - whitecross_delivery_retries_total{channel}: temporary failures that
//     will be retried, counted by ObserveEvents;
//   - whitecross_breaker_state{provider}: 0 closed, 1 half-open, 2 open,
//     for the providers of email, SMS and voice;
//   - whitecross_push_breakers_open{provider}: push breakers (one per
//     district and push service host) open or half-open;
//   - whitecross_queue_jobs{queue,state}: jobs available, scheduled,
//     retryable and running, per lane.
//
// It panics when reg already holds metrics of the same names.
func NewMetrics(reg prometheus.Registerer, db *store.DB) *Metrics {
	m := &Metrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "whitecross_delivery_transitions_total",
			Help: "Deliveries that reached a status (SENT, DELIVERED, FAILED, BOUNCED), by channel.",
		}, []string{"channel", "status"}),
		sendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "whitecross_provider_send_duration_seconds",
			Help:    "Time of one send call to a provider, by outcome (success, temporary, throttled, permanent, canceled).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"provider", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "whitecross_delivery_retries_total",
			Help: "Delivery attempts that failed temporarily and will be retried, by channel.",
		}, []string{"channel"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "whitecross_breaker_state",
			Help: "Circuit breaker of each provider: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider"}),
		keyedOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "whitecross_push_breakers_open",
			Help: "Push circuit breakers (one per district and push service host) open or half-open.",
		}, []string{"provider"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "whitecross_provider_throttled_total",
			Help: "Sends a provider refused because we sent too fast (HTTP 429, Twilio 20429), by provider and channel; each is retried later without spending an attempt.",
		}, []string{"provider", "channel"}),
	}
	// Series that exist from the start, so dashboards and rate() see zeros.
	for _, c := range []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS, whitecross.ChannelPush, whitecross.ChannelVoice} {
		m.retries.WithLabelValues(string(c))
		for _, s := range []whitecross.DeliveryStatus{whitecross.DeliverySent, whitecross.DeliveryDelivered, whitecross.DeliveryFailed, whitecross.DeliveryBounced} {
			m.transitions.WithLabelValues(string(c), string(s))
		}
	}
	if reg != nil {
		reg.MustRegister(m.transitions, m.sendDuration, m.retries, m.breakerState, m.keyedOpen, m.throttles, rateCollector{m})
		if db != nil {
			reg.MustRegister(newQueueCollector(db))
		}
	}
	return m
}

// ObserveEvents is a whitecross.EventNotifier: serve hands it, with the realtime
// gateway, every event the store commits, so a delivery change reaches the
// metrics by one path whoever made it (a deliver job, a provider callback).
// Each delivery.updated event counts what its delivery came to: a status
// reached (SENT, DELIVERED, FAILED, BOUNCED), or, still PENDING after an
// attempt, a temporary failure that will be retried; a new PENDING delivery
// (a fallback) counts nothing. Safe on a nil *Metrics. A change of a large
// message that its sender's log got no event for (the store coalesces them,
// store.CoalesceDeliveryEventsAbove) is counted by the deliver worker that
// recorded it instead (observeDelivery).
func (m *Metrics) ObserveEvents(_ context.Context, evs []whitecross.Event) {
	if m == nil {
		return
	}
	for _, ev := range evs {
		if ev.Type == whitecross.EventDeliveryUpdated {
			m.observeDelivery(ev.Delivery)
		}
	}
}

// observeDelivery counts what one committed delivery came to (see
// ObserveEvents). Safe on a nil *Metrics and a nil d.
func (m *Metrics) observeDelivery(d *whitecross.Delivery) {
	switch {
	case m == nil || d == nil:
	case d.Status != whitecross.DeliveryPending:
		m.transitions.WithLabelValues(string(d.Channel), string(d.Status)).Inc()
	case d.Attempts > 0:
		m.retries.WithLabelValues(string(d.Channel)).Inc()
	}
}

// observeSend records one provider call and how it ended.
func (m *Metrics) observeSend(provider string, err error, d time.Duration) {
	if m == nil {
		return
	}
	m.sendDuration.WithLabelValues(provider, sendOutcome(err)).Observe(d.Seconds())
}

// sendOutcome labels the result of a provider call.
func sendOutcome(err error) string {
	var pe *whitecross.ProviderError
	switch {
	case err == nil:
		return sendOK
	case errors.As(err, &pe) && pe.Permanent:
		return sendPermanent
	case isThrottled(err):
		return sendThrottled
	case errors.Is(err, context.Canceled):
		return sendCanceled
	default:
		return sendTemporary
	}
}

// observeThrottle counts a send the provider throttled.
func (m *Metrics) observeThrottle(provider string, c whitecross.Channel) {
	if m == nil {
		return
	}
	m.throttles.WithLabelValues(provider, string(c)).Inc()
}

// watchPacing makes the scrape report ps's rates, and starts the throttle
// count of each provider and channel at zero. Safe on a nil *Metrics.
func (m *Metrics) watchPacing(ps *pacers, providers map[whitecross.Channel]Provider) {
	if m == nil {
		return
	}
	m.pacing.Store(ps)
	for c, p := range providers {
		m.throttles.WithLabelValues(p.Name, string(c))
	}
}

// rateDesc describes whitecross_provider_send_rate.
var rateDesc = prometheus.NewDesc("whitecross_provider_send_rate",
	"Sends per second each paced channel allows now on this instance: the configured rate, lower for a while after a provider throttled us.",
	[]string{"channel"}, nil)

// rateCollector reports the pacers' current rates at scrape time (they
// climb back continuously after a throttle).
type rateCollector struct{ m *Metrics }

// Describe implements prometheus.Collector.
func (c rateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- rateDesc }

// Collect implements prometheus.Collector.
func (c rateCollector) Collect(ch chan<- prometheus.Metric) {
	ps := c.m.pacing.Load()
	if ps == nil {
		return
	}
	for channel, r := range ps.rates() {
		ch <- prometheus.MustNewConstMetric(rateDesc, prometheus.GaugeValue, r, string(channel))
	}
}

// setBreakerState records a provider's breaker state.
func (m *Metrics) setBreakerState(provider string, s gobreaker.State) {
	if m == nil {
		return
	}
	v := 0.0
	switch s {
	case gobreaker.StateHalfOpen:
		v = 1
	case gobreaker.StateOpen:
		v = 2
	}
	m.breakerState.WithLabelValues(provider).Set(v)
}

// initKeyedBreakers starts the push provider's open-breaker count at zero.
func (m *Metrics) initKeyedBreakers(provider string) {
	if m == nil {
		return
	}
	m.keyedOpen.WithLabelValues(provider).Add(0)
}

// keyedBreakerChanged counts a push breaker that left or reached closed.
func (m *Metrics) keyedBreakerChanged(provider string, from, to gobreaker.State) {
	if m == nil {
		return
	}
	switch {
	case from == gobreaker.StateClosed && to != gobreaker.StateClosed:
		m.keyedOpen.WithLabelValues(provider).Inc()
	case from != gobreaker.StateClosed && to == gobreaker.StateClosed:
		m.keyedOpen.WithLabelValues(provider).Dec()
	}
}

// queueStates are the job states whitecross_queue_jobs reports: work
// waiting or in progress, not the finished jobs River keeps for a while.
var queueStates = []string{"available", "scheduled", "retryable", "running"}

// queueCollector counts River's jobs per queue and state at scrape time:
// one GROUP BY that River's (state, queue, ...) index answers.
type queueCollector struct {
	db   *store.DB
	desc *prometheus.Desc
}

func newQueueCollector(db *store.DB) *queueCollector {
	return &queueCollector{db: db, desc: prometheus.NewDesc("whitecross_queue_jobs",
		"Jobs of the queue by lane (urgent, default: dispatch; deliver_urgent, deliver: sends) and state (available, scheduled, retryable, running).",
		[]string{"queue", "state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. Every lane and state is
// reported, zero when empty; a failed query reports an invalid metric (the
// scrape shows the error) rather than stale numbers.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.count()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for key, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, key[0], key[1])
	}
}

func (c *queueCollector) count() (map[[2]string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), queueScrapeTimeout)
	defer cancel()
	counts := map[[2]string]float64{}
	for _, q := range lanes {
		for _, s := range queueStates {
			counts[[2]string{q, s}] = 0
		}
	}
	rows, err := c.db.Reader().Query(ctx, `SELECT queue, CAST(state AS TEXT), COUNT(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY queue, state`)
	if err != nil {
		return nil, fmt.Errorf("count queue jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var queue, state string
		var n int64
		if err := rows.Scan(&queue, &state, &n); err != nil {
			return nil, fmt.Errorf("count queue jobs: %w", err)
		}
		counts[[2]string{queue, state}] = float64(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count queue jobs: %w", err)
	}
	return counts, nil
}
