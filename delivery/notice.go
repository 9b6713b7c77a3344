package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"whitecross"
	"whitecross/store"
)

// NoticeKind is the River job kind of NoticeArgs.
const NoticeKind = "notice"

// NoticeMaxAttempts bounds the sends of one notice: with the deliver
// backoff they span under a minute by default, and a sign-in code is good
// for only 10 minutes, so later tries would only bring a dead code.
const NoticeMaxAttempts = 4

// NoticeArgs is the stored form of a store.NoticeJob: a transactional
// notice (a sign-in code, a reset link) sealed with the tenant's data key.
// Neither its text nor its address is ever in the job table in clear.
type NoticeArgs struct {
	TenantID string `json:"tenant_id"`
	NoticeID string `json:"notice_id"`
	KeyID    string `json:"key_id"`
	Sealed   []byte `json:"sealed"`
}

// Kind implements river.JobArgs.
func (NoticeArgs) Kind() string { return NoticeKind }

var _ store.NoticeQueue = (*Queue)(nil)

// EnqueueNotice inserts the notice's job in tx, in the urgent deliver
// lane: someone is waiting at the sign-in page for it.
func (q *Queue) EnqueueNotice(ctx context.Context, tx *store.Tx, job store.NoticeJob) error {
	args := NoticeArgs{TenantID: job.TenantID, NoticeID: job.NoticeID, KeyID: job.KeyID, Sealed: job.Sealed}
	opts := &river.InsertOpts{Queue: QueueDeliverUrgent, MaxAttempts: NoticeMaxAttempts}
	if _, err := q.client.insertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("enqueue notice %s: %w", job.NoticeID, err)
	}
	return nil
}

// NoticeOpener opens sealed notices (*store.Store does).
type NoticeOpener interface {
	OpenNotice(ctx context.Context, job store.NoticeJob) (*whitecross.Notice, error)
}

// NoticeWorker sends notices through the channel's provider. A notice to
// nobody (asked for an unknown contact) is dropped unsent. Nothing it logs
// names the address or carries the text.
type NoticeWorker struct {
	river.WorkerDefaults[NoticeArgs]
	opener    NoticeOpener // nil when the queue's store cannot open notices
	providers map[whitecross.Channel]Provider
	timeout   time.Duration
	log       *slog.Logger
}

// newNoticeWorker opens notices with the deliver store, else the
// dispatcher, when either can (the store does both).
func newNoticeWorker(cfg DeliverConfig, d Dispatcher, log *slog.Logger) *NoticeWorker {
	o, ok := cfg.Store.(NoticeOpener)
	if !ok {
		o, _ = d.(NoticeOpener)
	}
	return &NoticeWorker{opener: o, providers: cfg.Providers, timeout: cfg.Timeout, log: log}
}

// Timeout bounds one attempt (DeliverConfig.Timeout).
func (w *NoticeWorker) Timeout(*river.Job[NoticeArgs]) time.Duration { return w.timeout }

// Work opens the notice and sends it. A permanent provider failure or a
// channel without a provider cancels the job; a temporary one retries.
func (w *NoticeWorker) Work(ctx context.Context, job *river.Job[NoticeArgs]) error {
	if w.opener == nil {
		return river.JobCancel(errors.New("this queue's store cannot open notices"))
	}
	a := job.Args
	n, err := w.opener.OpenNotice(ctx, store.NoticeJob{TenantID: a.TenantID, NoticeID: a.NoticeID, KeyID: a.KeyID, Sealed: a.Sealed})
	if err != nil {
		return river.JobCancel(err)
	}
	if n.To == "" {
		return nil
	}
	p, ok := w.providers[n.Channel]
	if !ok || p.Sender == nil {
		w.log.ErrorContext(ctx, "notice not sent: channel not configured", "notice_id", a.NoticeID, "channel", n.Channel)
		return river.JobCancel(fmt.Errorf("%s is not configured on this server", n.Channel))
	}
	out := &whitecross.Outbound{DeliveryID: a.NoticeID, TenantID: a.TenantID, Channel: n.Channel, To: n.To,
		ToName: n.ToName, Locale: n.Locale, Subject: n.Subject, Text: n.Text, Urgent: true}
	if _, err := p.Sender.Send(ctx, out); err != nil {
		var pe *whitecross.ProviderError
		if errors.As(err, &pe) && pe.Permanent {
			w.log.WarnContext(ctx, "notice refused by provider", "notice_id", a.NoticeID, "provider", p.Name, "code", pe.Code)
			return river.JobCancel(err)
		}
		return fmt.Errorf("send notice %s: %w", a.NoticeID, err)
	}
	w.log.InfoContext(ctx, "notice sent", "notice_id", a.NoticeID, "channel", n.Channel, "provider", p.Name)
	return nil
}
