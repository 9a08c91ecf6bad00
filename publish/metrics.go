package publish

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The result label of relay_publish_total: every outcome of a publish.
const (
	resultOK              = "ok"
	resultInvalid         = "invalid"
	resultTooLarge        = "too_large"
	resultUnsupported     = "unsupported"
	resultRateLimited     = "rate_limited"
	resultPDSFailed       = "pds_failed"
	resultStorageFailed   = "storage_failed"
	resultUnauthenticated = "unauthenticated"
)

var results = []string{resultOK, resultInvalid, resultTooLarge, resultUnsupported, resultRateLimited, resultPDSFailed, resultStorageFailed, resultUnauthenticated}

// Metrics are publish's series, created against the registry they are
// given: each process, and each test, has its own.
type Metrics struct {
	publishes *prometheus.CounterVec
	duration  prometheus.Histogram
	bytes     prometheus.Counter
	deletes   *prometheus.CounterVec
}

// NewMetrics creates publish's metrics and registers them on reg (nil:
// nowhere). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		publishes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_publish_total",
			Help: "Publish requests (POST /tracks, app.relay.track.publish), by result.",
		}, []string{"result"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "relay_publish_duration_seconds",
			Help:    "Time of one publish request, from its headers to its answer (upload, probe, storage, PDS write, apply).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "relay_publish_bytes_total",
			Help: "Bytes of audio and artwork of successful publishes.",
		}),
		deletes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_publish_deletes_total",
			Help: "Track deletes (DELETE /tracks/...), by result (ok, forbidden, invalid, pds_failed, unauthenticated).",
		}, []string{"result"}),
	}
	for _, r := range results {
		m.publishes.WithLabelValues(r)
	}
	for _, r := range []string{resultOK, "forbidden", resultInvalid, resultPDSFailed, resultUnauthenticated} {
		m.deletes.WithLabelValues(r)
	}
	return m
}
