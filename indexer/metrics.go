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

var (
	eventsReceived = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_ingest_events_total",
		Help: "Jetstream events received, by kind and commit operation.",
	}, []string{"kind", "operation"})
	appliedTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "relay_ingest_applied_total",
		Help: "Events that changed the store.",
	})
	staleTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "relay_ingest_stale_total",
		Help: "Events skipped because the store already held a newer or equal revision (replays, late events).",
	})
	rejectedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_ingest_rejected_total",
		Help: "Events rejected as malformed, by reason; they are skipped and the cursor advances.",
	}, []string{"reason"})
	reconnectsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_ingest_reconnects_total",
		Help: "Jetstream connections that ended or failed, by host.",
	}, []string{"host"})
	cursorAge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "relay_ingest_cursor_age_seconds",
		Help: "Now minus the time_us of the last committed event: ingest lag (grows too while the stream is quiet).",
	})
	cursorTooOld = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "relay_ingest_cursor_too_old",
		Help: "1 when the stored cursor was older than the upstream's retention at start: events were missed and a backfill is needed.",
	})
	batchSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "relay_ingest_batch_commit_seconds",
		Help:    "Time to apply and commit one batch of events to SQLite.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	batchEvents = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "relay_ingest_batch_events",
		Help:    "Events per committed batch.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12),
	})
)

// Reasons lists every rejection reason, the record's (validate.Reasons) and
// the event's, so each series exists from the first scrape (a dashboard can
// tell zero from missing).
var Reasons = append([]string{
	ReasonBadDID, ReasonUnknownKind, ReasonBadCollection, ReasonBadRev,
	ReasonBadOperation, ReasonBadCID, ReasonBadHandle,
	ReasonUndecodable, ReasonOversized, ReasonBadStatus, ReasonOther,
}, validate.Reasons...)

func init() {
	for _, r := range Reasons {
		rejectedTotal.WithLabelValues(r)
	}
	for _, op := range []string{"create", "update", "delete"} {
		eventsReceived.WithLabelValues("commit", op)
	}
	eventsReceived.WithLabelValues("identity", "")
	eventsReceived.WithLabelValues("account", "")
}
