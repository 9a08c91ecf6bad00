package backfill

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/validate"
)

// Metrics are the relay_backfill_* series, created against the registry
// they are given: each process, and each test, has its own.
type Metrics struct {
	repos    *prometheus.GaugeVec
	attempts *prometheus.CounterVec
	records  prometheus.Counter
	rejected *prometheus.CounterVec
	seconds  prometheus.Histogram
}

// NewMetrics creates the backfill's metrics and registers them on reg (nil:
// nowhere). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		repos: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "relay_backfill_repos",
			Help: "Repos known to the backfill, by state (pending, done, failed).",
		}, []string{"state"}),
		attempts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_backfill_repo_attempts_total",
			Help: "Repo backfill attempts, by result (done, failed).",
		}, []string{"result"}),
		records: f.NewCounter(prometheus.CounterOpts{
			Name: "relay_backfill_records_total",
			Help: "Track records read from backfilled repos.",
		}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_backfill_rejected_total",
			Help: "Track records in backfilled repos rejected as malformed, by reason.",
		}, []string{"reason"}),
		seconds: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "relay_backfill_repo_duration_seconds",
			Help:    "Time to resolve, fetch, verify and apply one repo.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
	}
	// Series exist from the first scrape, so a dashboard tells zero from missing.
	for _, s := range []relay.RepoState{relay.RepoPending, relay.RepoDone, relay.RepoFailed} {
		m.repos.WithLabelValues(string(s))
	}
	m.attempts.WithLabelValues("done")
	m.attempts.WithLabelValues("failed")
	for _, r := range validate.Reasons {
		m.rejected.WithLabelValues(r)
	}
	return m
}

// setCounts sets the repos gauge from the queue's counts.
func (m *Metrics) setCounts(c relay.BackfillCounts) {
	m.repos.WithLabelValues(string(relay.RepoPending)).Set(float64(c.Pending))
	m.repos.WithLabelValues(string(relay.RepoDone)).Set(float64(c.Done))
	m.repos.WithLabelValues(string(relay.RepoFailed)).Set(float64(c.Failed))
}
