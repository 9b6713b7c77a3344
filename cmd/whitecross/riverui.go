package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"riverqueue.com/riverui"
	"riverqueue.com/riverui/uiendpoints"

	"whitecross/api"
	"whitecross/delivery"
)

// newRiverUI builds River's admin UI over the queue's River client (pgx on
// PostgreSQL, database/sql on SQLite; riverui works with either driver),
// mounted by the API under api.RiverUIPrefix for ADMIN users. Its
// background services (cached job counts) run until ctx ends.
func newRiverUI(ctx context.Context, q *delivery.Queue, log *slog.Logger) (http.Handler, error) {
	var endpoints uiendpoints.Bundle
	if c := q.PgxClient(); c != nil {
		endpoints = riverui.NewEndpoints(c, nil)
	} else {
		endpoints = riverui.NewEndpoints(q.SQLClient(), nil)
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: endpoints,
		// Job arguments are ids only, but hide them by default anyway.
		JobListHideArgsByDefault: true,
		Logger:                   slog.New(quietAfter{Handler: log.Handler(), ctx: ctx}).With("component", "riverui"),
		Prefix:                   api.RiverUIPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("start river ui: %w", err)
	}
	return h, nil
}

// quietAfter demotes to debug the errors logged once ctx has ended: riverui's
// background queries fail with "context canceled" when the server shuts
// down, which is no failure and must not read as one in the logs.
type quietAfter struct {
	slog.Handler
	ctx context.Context
}

func (h quietAfter) Handle(ctx context.Context, r slog.Record) error {
	if h.ctx.Err() != nil && r.Level >= slog.LevelError {
		r.Level = slog.LevelDebug
		if !h.Handler.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietAfter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietAfter{Handler: h.Handler.WithAttrs(attrs), ctx: h.ctx}
}

func (h quietAfter) WithGroup(name string) slog.Handler {
	return quietAfter{Handler: h.Handler.WithGroup(name), ctx: h.ctx}
}
