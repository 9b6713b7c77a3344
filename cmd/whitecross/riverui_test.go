package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// Errors riverui logs while the server shuts down (its queries canceled)
// are no failures; before that, they are.
func TestRiverUIErrorsAfterShutdownAreNotErrors(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(quietAfter{Handler: slog.NewTextHandler(&buf, nil), ctx: ctx}).With("component", "riverui")
	log.Error("query failed", "err", "connection refused")
	require.Contains(t, buf.String(), "level=ERROR")
	buf.Reset()
	cancel()
	log.Error("query failed", "err", "context canceled")
	log.Info("stopped")
	require.NotContains(t, buf.String(), "query failed")
	require.Contains(t, buf.String(), "level=INFO msg=stopped component=riverui")
}
