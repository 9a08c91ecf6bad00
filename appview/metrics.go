package appview

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the appview's request series, created against the registry
// they are given: each process, and each test, has its own.
type Metrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	// recordCache counts lookups of served records (recordcache.go).
	recordCache *prometheus.CounterVec
}

// NewMetrics creates the appview's metrics and registers them on reg (nil:
// nowhere). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_xrpc_requests_total",
			Help: "XRPC requests, by method and HTTP status.",
		}, []string{"method", "status"}),
		seconds: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_xrpc_request_duration_seconds",
			Help:    "XRPC request latency, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"method"}),
		recordCache: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_xrpc_record_cache_total",
			Help: "Served records looked up in the appview's cache of them, by result (hit, miss): a miss decodes and encodes the stored record.",
		}, []string{"result"}),
	}
}
