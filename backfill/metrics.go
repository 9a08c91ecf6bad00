package backfill

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/relaymusic/relay/validate"
)

var (
	reposGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "relay_backfill_repos",
		Help: "Repos known to the backfill, by state (pending, done, failed).",
	}, []string{"state"})
	reposTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_backfill_repo_attempts_total",
		Help: "Repo backfill attempts, by result (done, failed).",
	}, []string{"result"})
	recordsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "relay_backfill_records_total",
		Help: "Track records read from backfilled repos.",
	})
	rejectedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_backfill_rejected_total",
		Help: "Track records in backfilled repos rejected as malformed, by reason.",
	}, []string{"reason"})
	repoSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "relay_backfill_repo_duration_seconds",
		Help:    "Time to resolve, fetch, verify and apply one repo.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	})
)

func init() {
	for _, s := range []string{"pending", "done", "failed"} {
		reposGauge.WithLabelValues(s)
	}
	reposTotal.WithLabelValues("done")
	reposTotal.WithLabelValues("failed")
	for _, r := range validate.Reasons {
		rejectedTotal.WithLabelValues(r)
	}
}
