package delivery

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct{}
