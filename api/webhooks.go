package api

// webhookRoutes registers the provider callbacks (Twilio status and
// inbound SMS, SendGrid events).
func (s *Server) webhookRoutes() {}
