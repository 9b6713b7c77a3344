package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"whitecross"
)

// clockTime is River's time source on an injected clock (tests).
type clockTime whitecross.Clock

func (c clockTime) Now() time.Time { return c() }

func (c clockTime) NowOrNil() *time.Time {
	t := c().UTC()
	return &t
}

// clockRetryPolicy is River's default retry schedule (attempt^4 seconds,
// jittered) counted from the injected clock: River's own policy reads the
// real clock even when its time is stubbed.
type clockRetryPolicy whitecross.Clock

func (c clockRetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	delay := time.Until((&river.DefaultClientRetryPolicy{}).NextRetry(job))
	return c().UTC().Add(delay)
}

// minLevelHandler drops records below min, and reports of a stop.
type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// Handle drops River's reports of a canceled context: when the server
// stops, its maintenance services (the periodic job enqueuer among them)
// report the stop as an error, and a stop is not a fault worth an alert.
func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	canceled := false
	r.Attrs(func(a slog.Attr) bool {
		err, ok := a.Value.Any().(error)
		canceled = a.Key == "error" && (ok && errors.Is(err, context.Canceled) || a.Value.String() == context.Canceled.Error())
		return !canceled
	})
	if canceled {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}
