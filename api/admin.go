package api

import "context"

// OutboxReader lists what the capture provider recorded (demo and dev).
type OutboxReader interface {
	// ListOutbox returns the newest captured sends first (at most limit)
	// of the tenant, optionally of one channel.
	ListOutbox(ctx context.Context, tenantID, channel string, limit int) []OutboxItem
}

// OutboxItem is one captured send as the dev outbox shows it.
type OutboxItem struct{}

// adminRoutes registers the admin routes: dead letters, tenant settings,
// the dev outbox, /metrics and River's UI.
func (s *Server) adminRoutes() {}
