package realtime

import "context"

// FlushPresence flushes the pending presence changes now, for tests that
// set a long PresenceBatch to decide when a batch ends.
func (g *Gateway) FlushPresence() { g.presence.flush(context.Background()) }

// TickPresence runs presence's timers (grace periods, refresh) now.
func (g *Gateway) TickPresence() { g.presence.tick(context.Background(), g.cfg.Now()) }
