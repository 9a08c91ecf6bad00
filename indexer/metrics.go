package indexer

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/relaymusic/relay/validate"
)

// eventLabels are the kind and operation labels of an event, limited to the
// values jetstream defines: upstream strings must not mint series.
func eventLabels(kind, op string) (string, string) {
	switch kind {
	case "commit":
		switch op {
		case "create", "update", "delete":
			return kind, op
		}
		return kind, "other"
	case "identity", "account":
		return kind, ""
	}
	return "other", ""
}

// Metrics are the relay_ingest_* series, created against the registry they
// are given: each process, and each test, has its own. An Indexer and its
// Subscriber share one.
type Metrics struct {
	events       *prometheus.CounterVec
	applied      prometheus.Counter
	stale        prometheus.Counter
	rejected     *prometheus.CounterVec
	reconnects   *prometheus.CounterVec
	cursorAge    prometheus.Gauge
	cursorTooOld prometheus.Gauge
	batchSeconds prometheus.Histogram
	batchEvents  prometheus.Histogram
}

// NewMetrics creates the ingest metrics and registers them on reg (nil:
// nowhere). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		events: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_ingest_events_total",
			Help: "Jetstream events received, by kind and commit operation.",
		}, []string{"kind", "operation"}),
		applied: f.NewCounter(prometheus.CounterOpts{
			Name: "relay_ingest_applied_total",
			Help: "Events that changed the store.",
		}),
		stale: f.NewCounter(prometheus.CounterOpts{
			Name: "relay_ingest_stale_total",
			Help: "Events skipped because the store already held a newer or equal revision (replays, late events).",
		}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_ingest_rejected_total",
			Help: "Events rejected as malformed, by reason; they are skipped and the cursor advances.",
		}, []string{"reason"}),
		reconnects: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_ingest_reconnects_total",
			Help: "Jetstream connections that ended or failed, by host.",
		}, []string{"host"}),
		cursorAge: f.NewGauge(prometheus.GaugeOpts{
			Name: "relay_ingest_cursor_age_seconds",
			Help: "Now minus the time_us of the last committed event: ingest lag (grows too while the stream is quiet).",
		}),
		cursorTooOld: f.NewGauge(prometheus.GaugeOpts{
			Name: "relay_ingest_cursor_too_old",
			Help: "1 when the stored cursor was older than the upstream's retention at start: events were missed and a backfill is needed.",
		}),
		batchSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "relay_ingest_batch_commit_seconds",
			Help:    "Time to apply and commit one batch of events to SQLite.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		batchEvents: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "relay_ingest_batch_events",
			Help:    "Events per committed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
	}
	// Series exist from the first scrape, so a dashboard tells zero from missing.
	for _, r := range Reasons {
		m.rejected.WithLabelValues(r)
	}
	for _, op := range []string{"create", "update", "delete"} {
		m.events.WithLabelValues("commit", op)
	}
	m.events.WithLabelValues("identity", "")
	m.events.WithLabelValues("account", "")
	return m
}

// Reasons lists every rejection reason, the record's (validate.Reasons) and
// the event's, so each series exists from the first scrape (a dashboard can
// tell zero from missing).
var Reasons = append([]string{
	ReasonBadDID, ReasonUnknownKind, ReasonBadCollection, ReasonBadRev,
	ReasonBadOperation, ReasonBadCID, ReasonBadHandle,
	ReasonUndecodable, ReasonOversized, ReasonBadStatus, ReasonOther,
}, validate.Reasons...)
