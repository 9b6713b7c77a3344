package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"whitecross"
	"whitecross/store"
)

// RecordTimeout bounds recording an outcome. It runs on a context that the
// job's cancellation does not end, so a send the provider accepted is
// recorded even when the attempt's time runs out or the queue stops. A
// deliver job may therefore run for its timeout plus this; the queue's
// rescue delay must exceed both, or a live job would be run twice.
const RecordTimeout = 15 * time.Second

// DeliverWorker works deliver jobs: it sends one PENDING delivery through
// its channel's provider and records what came of it.
//
//   - A delivery that is no longer PENDING is done (a job run twice, or a
//     retry after the provider id was recorded, never sends again).
//   - A delivery that cannot be sent — channel not configured or not
//     allowed, no address, email suppressed, number opted out — fails at
//     once with the reason, and falls back to the next channel.
//   - Success records the provider's id (SENT, or DELIVERED for capture)
//     before the job is acknowledged; when recording fails the job is
//     retried and sends again, so duplicates are bounded by the sends in
//     flight at a crash. The delivery id is the provider's idempotency key.
//   - A permanent failure records FAILED with the provider's reason and
//     falls back; a temporary one records the attempt and returns the error
//     so River retries it (see retryPolicy), until the last attempt, which
//     records FAILED "gave up after N attempts: ..." and falls back.
//   - While the provider's circuit breaker is open, the job snoozes: the
//     delivery is untouched and no attempt is counted.
//   - Each channel's sends are paced at its provider's rate (see pacer):
//     a job whose turn is far off snoozes, EMERGENCY and URGENT first. A
//     provider's throttle (ProviderError.Throttled: 429) is no failure:
//     the delivery is untouched, no attempt is counted, the breaker does
//     not hear of it, the job snoozes and the channel slows down.
//   - During the district's quiet hours, an SMS, call or push of a message
//     that is not EMERGENCY or URGENT snoozes until they end (see
//     whitecross.QuietHoursHold); it stays PENDING and spends no attempt.
//
// An SMS STOP blocks SMS only: a voice call is a different consent (and
// the fallback for an EMERGENCY), so VOICE still calls an opted-out number.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	cfg      DeliverConfig
	breakers *breakers
	pacers   *pacers
	hints    *retryHints
	// outcomes records outcomes in shared transactions when the store
	// can (nil: one transaction each).
	outcomes *groupRunner[store.OutcomeRecord, *whitecross.DeliveryChange]
	// tasks loads deliveries in shared reads when the store can (nil:
	// each on its own).
	tasks *groupRunner[store.DeliveryRef, *whitecross.DeliveryTask]
	now   whitecross.Clock
	log   *slog.Logger
}

func newDeliverWorker(cfg DeliverConfig, hints *retryHints, now whitecross.Clock, log *slog.Logger) *DeliverWorker {
	ps := newPacers(cfg, now)
	cfg.Metrics.watchPacing(ps, cfg.Providers)
	w := &DeliverWorker{cfg: cfg, breakers: newBreakers(cfg, log), pacers: ps, hints: hints, now: now, log: log}
	if bs, ok := cfg.Store.(outcomeBatchStore); ok {
		w.outcomes = newOutcomeBatcher(bs, cfg.Metrics)
	}
	if ts, ok := cfg.Store.(taskBatchStore); ok {
		w.tasks = newTaskLoader(ts)
	}
	return w
}

// Timeout bounds one attempt (DeliverConfig.Timeout).
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.cfg.Timeout }

// Work sends the job's delivery; see DeliverWorker.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	if w.cfg.Store == nil {
		return errors.New("deliveries are not configured on this server (no delivery store)")
	}
	task, err := w.loadTask(ctx, job.Args.TenantID, job.Args.DeliveryID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		w.log.ErrorContext(ctx, "deliver job of a delivery that does not exist canceled",
			"job_id", job.ID, "tenant_id", job.Args.TenantID, "delivery_id", job.Args.DeliveryID)
		return river.JobCancel(err)
	}
	if err != nil {
		return fmt.Errorf("load delivery %s: %w", job.Args.DeliveryID, err)
	}
	if task.Delivery.Status != whitecross.DeliveryPending {
		return nil
	}
	if task.Delivery.AttemptKind == whitecross.AttemptEscalation && task.Recipient.Acknowledged {
		// The reminder was queued (or held by quiet hours or pacing) before
		// the recipient acknowledged: it would only alarm them again.
		return w.cfg.Store.WithdrawDelivery(ctx, job.Args.TenantID, task.Delivery.ID)
	}
	p, refusal := w.provider(task)
	if refusal != "" {
		return w.record(ctx, task, whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Error: refusal, Fallback: true})
	}
	if wait, quiet := w.quietHours(task); quiet {
		w.log.InfoContext(ctx, "quiet hours: delivery waits", "delivery_id", task.Delivery.ID,
			"channel", task.Delivery.Channel, "wait", wait.String())
		return river.JobSnooze(wait)
	}
	if wait, err := w.pacers.wait(ctx, task.Delivery.Channel, task.Message.Urgent()); err != nil {
		// Shutdown: River makes the job available again; nothing to record.
		return fmt.Errorf("delivery %s waiting for its turn: %w", task.Delivery.ID, err)
	} else if wait > 0 {
		w.log.DebugContext(ctx, "pacing: delivery waits its turn", "delivery_id", task.Delivery.ID,
			"channel", task.Delivery.Channel, "wait", wait.String())
		return river.JobSnooze(wait)
	}
	out := renderOutbound(task, w.cfg.PublicURL)
	var res *whitecross.SendResult
	if task.Delivery.Channel == whitecross.ChannelPush {
		res, err = w.sendPush(ctx, p, task, out)
	} else {
		out.To = address(task)
		res, err = w.send(ctx, breakerKey{provider: p.Name}, p, out)
	}
	return w.settle(ctx, job, task, p, res, err)
}

// provider returns the channel's provider, or why the delivery cannot be
// sent at all (a reason safe to show: no addresses).
func (w *DeliverWorker) provider(task *whitecross.DeliveryTask) (Provider, string) {
	c, rc := task.Delivery.Channel, task.Recipient
	p, ok := w.cfg.Providers[c]
	switch {
	case c != whitecross.ChannelEmail && c != whitecross.ChannelSMS && c != whitecross.ChannelVoice && c != whitecross.ChannelPush:
		return p, fmt.Sprintf("%s is not delivered by a provider", c)
	case !ok || p.Sender == nil:
		return p, fmt.Sprintf("%s is not configured on this server", c)
	case !task.Settings.ChannelAllowed(c):
		return p, fmt.Sprintf("%s is not allowed by the district's settings", c)
	case c == whitecross.ChannelEmail && rc.Email == "":
		return p, "no email address"
	case c == whitecross.ChannelEmail && rc.EmailSuppressed:
		return p, "address suppressed after a bounce"
	case (c == whitecross.ChannelSMS || c == whitecross.ChannelVoice) && rc.Phone == "":
		return p, "no phone number"
	case c == whitecross.ChannelSMS && rc.PhoneOptedOut && !task.Settings.SMSOptOutOverridden(task.Message.Category):
		return p, "number opted out (STOP)"
	case c == whitecross.ChannelPush && len(rc.Push) == 0:
		return p, "no push subscription"
	}
	return p, ""
}

// quietHours reports whether the delivery waits for the end of the
// district's quiet hours, and how long. A timezone that does not load (it
// was validated when stored) counts as UTC rather than sending at night
// unchecked.
func (w *DeliverWorker) quietHours(task *whitecross.DeliveryTask) (time.Duration, bool) {
	if task.Settings.QuietHoursStart == "" || !whitecross.QuietHoursHold(task.Delivery.Channel, task.Message.Urgent()) {
		return 0, false // before LoadLocation, which reads the zone file each call
	}
	loc, err := time.LoadLocation(task.Timezone)
	if err != nil {
		loc = time.UTC
	}
	now := w.now()
	until, quiet := task.Settings.QuietUntil(now, loc)
	if !quiet {
		return 0, false
	}
	return until.Sub(now), true
}

// address is the recipient's address on the task's channel (not PUSH).
func address(task *whitecross.DeliveryTask) string {
	if task.Delivery.Channel == whitecross.ChannelEmail {
		return task.Recipient.Email
	}
	return task.Recipient.Phone
}

// send calls the provider through the breaker of key and measures the call.
func (w *DeliverWorker) send(ctx context.Context, key breakerKey, p Provider, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	start := time.Now()
	res, err := w.breakers.send(ctx, key, p, out)
	if !errors.Is(err, errBreakerOpen) {
		w.cfg.Metrics.observeSend(p.Name, err, time.Since(start))
	}
	if err == nil && res == nil {
		return nil, &whitecross.ProviderError{Provider: p.Name, Code: "bad_response", Message: "the provider returned no result"}
	}
	return res, err
}

// sendPush sends to each of the recipient's browsers at once, each through
// the breaker of its district and push service host, so a family's slow
// endpoints hold a worker for one push timeout, not one per browser. It
// succeeds when any accepted; when every one is gone it is a permanent
// failure (and the delivery falls back). What each send came to is
// remembered per subscription (notePush), so one that keeps failing stops
// being tried.
func (w *DeliverWorker) sendPush(ctx context.Context, p Provider, task *whitecross.DeliveryTask, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	subs := task.Recipient.Push
	results := make([]*whitecross.SendResult, len(subs))
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Go(func() {
			o := *out
			o.To = sub.BrowserJSON()
			results[i], errs[i] = w.send(ctx, pushKey(p, task.Message.TenantID, sub.Endpoint), p, &o)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return firstAccepted(ctx, results, errs) // record what was accepted before the attempt ended
	}
	var accepted *whitecross.SendResult
	var open bool
	var temporary, throttled, permanent error
	for i, sub := range subs {
		res, err := results[i], errs[i]
		w.notePush(ctx, task, sub, err)
		switch {
		case err == nil:
			if accepted == nil {
				accepted = res
			}
		case errors.Is(err, errBreakerOpen):
			open = true
		case subscriptionGone(err): // notePush removed it
		case isThrottled(err):
			throttled = err
		case isPermanent(err):
			permanent = err
		default:
			temporary = err
		}
	}
	switch {
	case accepted != nil:
		return accepted, nil
	case open:
		return nil, errBreakerOpen
	case temporary != nil:
		return nil, temporary
	case throttled != nil:
		return nil, throttled
	case permanent != nil:
		return nil, permanent
	}
	return nil, &whitecross.ProviderError{Provider: p.Name, Permanent: true, Code: "410", Message: "every push subscription of the recipient is gone"}
}

// firstAccepted is, for a push attempt whose time ran out, the first send
// that was accepted, else the first error, else the context's.
func firstAccepted(ctx context.Context, results []*whitecross.SendResult, errs []error) (*whitecross.SendResult, error) {
	for i, err := range errs {
		if err == nil {
			return results[i], nil
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return nil, ctx.Err()
}

// notePush remembers what a send to one subscription came to: a gone one
// is removed; a failure that concerns the subscription or its push
// service is counted against it (the store disables it when it keeps
// failing); a send that worked ends its failure streak. A send the breaker
// refused, that was throttled, or that failed for the message's or our own
// reasons (a payload too long, our VAPID credentials refused), says
// nothing about it.
func (w *DeliverWorker) notePush(ctx context.Context, task *whitecross.DeliveryTask, sub *whitecross.PushSubscription, err error) {
	tenantID := task.Message.TenantID
	var serr error
	switch {
	case err == nil && sub.Failures == 0, errors.Is(err, errBreakerOpen), isThrottled(err):
		return
	case err == nil:
		serr = w.cfg.Store.RecordPushResult(ctx, tenantID, sub.ID, "")
	case subscriptionGone(err):
		serr = w.cfg.Store.RemovePushSubscription(ctx, tenantID, sub.ID)
	case isPermanent(err) && !isRecipients(err):
		return
	default:
		serr = w.cfg.Store.RecordPushResult(ctx, tenantID, sub.ID, err.Error())
	}
	if serr != nil {
		w.log.WarnContext(ctx, "could not record a push subscription's result", "subscription_id", sub.ID, "error", serr.Error())
	}
}

// subscriptionGone reports whether the push service said the subscription
// no longer exists (404 or 410; webpush.SubscriptionGone is this check for
// the webpush provider).
func subscriptionGone(err error) bool {
	var pe *whitecross.ProviderError
	return errors.As(err, &pe) && pe.Permanent && (pe.Code == "404" || pe.Code == "410")
}

// isThrottled reports a provider's refusal because we send too fast
// (ProviderError.Throttled).
func isThrottled(err error) bool {
	var pe *whitecross.ProviderError
	return errors.As(err, &pe) && pe.Throttled && !pe.Permanent
}

func isPermanent(err error) bool {
	var pe *whitecross.ProviderError
	return errors.As(err, &pe) && pe.Permanent
}

// isRecipients reports a failure of one recipient's address rather than
// of the provider (ProviderError.Recipient).
func isRecipients(err error) bool {
	var pe *whitecross.ProviderError
	return errors.As(err, &pe) && pe.Recipient
}

// settle records what the send came to and tells River what to do next.
func (w *DeliverWorker) settle(ctx context.Context, job *river.Job[DeliverArgs], task *whitecross.DeliveryTask, p Provider, res *whitecross.SendResult, err error) error {
	c := task.Delivery.Channel
	switch {
	case err == nil:
		w.pacers.sent(c)
		status := res.Status
		if status != whitecross.DeliveryDelivered {
			status = whitecross.DeliverySent
		}
		return w.record(ctx, task, whitecross.DeliveryOutcome{Status: status, Provider: p.Name, ProviderID: res.ProviderID})
	case errors.Is(err, errBreakerOpen):
		d := w.breakers.snooze()
		w.log.InfoContext(ctx, "provider circuit breaker open: delivery waits", "delivery_id", task.Delivery.ID,
			"channel", c, "provider", p.Name, "snooze", d.String())
		return river.JobSnooze(d)
	case isThrottled(err):
		return w.throttled(ctx, task, p, err)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// Shutdown: River makes the job available again without
		// counting an attempt; nothing to record.
		return fmt.Errorf("send delivery %s: %w", task.Delivery.ID, err)
	case ctx.Err() != nil:
		err = &whitecross.ProviderError{Provider: p.Name, Code: "timeout", Message: fmt.Sprintf("no answer within the attempt's %s", w.cfg.Timeout)}
	}
	if isPermanent(err) {
		w.permanentSideEffects(ctx, task, err)
		w.log.WarnContext(ctx, "delivery failed", "delivery_id", task.Delivery.ID, "channel", c, "provider", p.Name, "error", err.Error())
		return w.record(ctx, task, whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Provider: p.Name, Error: err.Error(), Fallback: true})
	}
	attempts := task.Delivery.Attempts + 1
	if job.Attempt >= job.MaxAttempts {
		w.log.WarnContext(ctx, "delivery gave up", "delivery_id", task.Delivery.ID, "channel", c, "provider", p.Name,
			"attempts", attempts, "error", err.Error())
		return w.record(ctx, task, whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Provider: p.Name,
			Error: fmt.Sprintf("gave up after %d attempts: %s", attempts, err), Fallback: true})
	}
	if rerr := w.record(ctx, task, whitecross.DeliveryOutcome{Error: err.Error()}); rerr != nil {
		return rerr
	}
	var pe *whitecross.ProviderError
	if errors.As(err, &pe) {
		w.hints.set(job.ID, pe.RetryAfter)
	}
	return fmt.Errorf("delivery %s attempt %d: %w", task.Delivery.ID, attempts, err)
}

// throttled answers a provider's throttle: the delivery stays as it is
// (PENDING, no attempt recorded), the job snoozes until the channel's
// pause ends (at most RetryMax), and the channel's pacer slows down.
func (w *DeliverWorker) throttled(ctx context.Context, task *whitecross.DeliveryTask, p Provider, err error) error {
	var pe *whitecross.ProviderError
	errors.As(err, &pe)
	c := task.Delivery.Channel
	d, lowered := w.pacers.throttled(c, pe.RetryAfter)
	d = min(d, w.cfg.RetryMax)
	w.cfg.Metrics.observeThrottle(p.Name, c)
	attrs := []any{"delivery_id", task.Delivery.ID, "channel", c, "provider", p.Name, "code", pe.Code, "snooze", d.String()}
	if lowered {
		w.log.WarnContext(ctx, "provider throttled: sending slower", append(attrs, "rate", w.pacers.rate(c))...)
	} else {
		w.log.InfoContext(ctx, "provider throttled: delivery waits", attrs...)
	}
	return river.JobSnooze(d)
}

// permanentSideEffects remembers what a permanent failure taught us: a
// provider that says the number texted STOP to our sender (OptedOut) gets
// the opt-out recorded, by the rule status callbacks follow too
// (recordSMSOptOut).
func (w *DeliverWorker) permanentSideEffects(ctx context.Context, task *whitecross.DeliveryTask, err error) {
	var pe *whitecross.ProviderError
	if !errors.As(err, &pe) {
		return
	}
	if _, err := recordSMSOptOut(ctx, w.cfg.Store, task.Delivery.Channel, pe.OptedOut, task.Recipient.Phone, pe.Provider, pe.Code); err != nil {
		w.log.WarnContext(ctx, "could not record an SMS opt-out", "delivery_id", task.Delivery.ID, "error", err.Error())
	}
}

// record commits an outcome, with the outcomes of other workers in one
// transaction when the store can (newOutcomeBatcher), and returns once it is
// committed. The store tells metrics and realtime of the change after its
// commit (Metrics.ObserveEvents; the batcher counts the changes no event
// carries); a delivery no longer PENDING (another run recorded first)
// changes nothing. It returns the store's error, so River retries the job.
func (w *DeliverWorker) record(ctx context.Context, task *whitecross.DeliveryTask, o whitecross.DeliveryOutcome) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RecordTimeout)
	defer cancel()
	var err error
	if w.outcomes != nil {
		_, err = w.outcomes.do(rctx, store.OutcomeRecord{TenantID: task.Message.TenantID, DeliveryID: task.Delivery.ID, Outcome: o})
	} else {
		_, err = w.cfg.Store.RecordDeliveryOutcome(rctx, task.Message.TenantID, task.Delivery.ID, o)
	}
	if err != nil {
		return fmt.Errorf("record outcome of delivery %s: %w", task.Delivery.ID, err)
	}
	return nil
}
