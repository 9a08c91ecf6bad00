package handles

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the resolver's series, created against the registry they are
// given: each process, and each test, has its own.
type Metrics struct {
	lookups *prometheus.CounterVec
}

// NewMetrics creates the resolver's metrics and registers them on reg (nil:
// nowhere). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lookups: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "relay_handle_lookups_total",
			Help: "Background handle lookups of artists, by outcome (resolved; unverified: the handle does not resolve back to the DID; failed: the DID could not be resolved).",
		}, []string{"outcome"}),
	}
	for _, o := range []string{outcomeResolved, outcomeUnverified, outcomeFailed} {
		m.lookups.WithLabelValues(o)
	}
	return m
}
