package realtime_test

import (
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestFrameFloodCloses: a connection may send its burst of frames, each
// answered; the first beyond closes it with 1008 and a reason naming the
// budget, while other connections of the user stay open.
func TestFrameFloodCloses(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: func(cfg *realtime.Config) {
			cfg.DisablePresence = true
			cfg.FramesPerSecond, cfg.FrameBurst = 0.001, 5
		}})
		flood := b.connect(t, b.first, b.d.LincolnNurse)
		calm := b.connect(t, b.first, b.d.LincolnNurse)
		for range 4 { // connect sent the first
			flood.send(t, "ping", struct{}{})
			flood.nextOf(t, "pong")
		}
		flood.send(t, "ping", struct{}{})
		err := flood.closed(t)
		require.Equal(t, websocket.StatusPolicyViolation, closeStatus(err), "%v", err)
		require.True(t, strings.Contains(err.Error(), "too many frames"), "%v", err)

		calm.send(t, "ping", struct{}{})
		calm.nextOf(t, "pong")
	})
}
