package audiocheck

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the checker's series, created against the registry they are
// given: each process, and each test, has its own.
type Metrics struct {
	checks   *prometheus.CounterVec
	duration prometheus.Histogram
	changes  *prometheus.CounterVec
}

// NewMetrics creates the checker's metrics and registers them on reg (nil:
// nowhere). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		checks: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_audio_checks_total",
			Help: "Checks of tracks' audio URLs, by result (ok: 2xx, 206 or 416; missing: 404 or 410; unreachable: no answer, 5xx, 429 or any other status).",
		}, []string{"result"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "relay_audio_check_duration_seconds",
			Help:    "Time of one audio check (HEAD, and the ranged GET when HEAD is refused), waits for the host's turn excluded.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		changes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_audio_visibility_changes_total",
			Help: "Tracks hidden because their audio is missing (to=hidden), or shown again because it answered (to=shown).",
		}, []string{"to"}),
	}
	for _, r := range []string{resultOK.String(), resultGone.String(), resultUnreachable.String()} {
		m.checks.WithLabelValues(r)
	}
	m.changes.WithLabelValues("hidden")
	m.changes.WithLabelValues("shown")
	return m
}
