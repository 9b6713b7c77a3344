package api

// pushRoutes registers the Web Push key and subscription routes.
func (s *Server) pushRoutes() {}
