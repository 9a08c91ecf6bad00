package plays

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Results of a play, the only label of relay_plays_total: never the track,
// whose number is unbounded.
const (
	resultCounted      = "counted"
	resultRepeat       = "repeat"
	resultUnknownTrack = "unknown_track"
	resultDropped      = "dropped"
)

// Metrics are the plays series, created against the registry they are
// given: each process, and each test, has its own.
type Metrics struct {
	plays       *prometheus.CounterVec
	flushErrors prometheus.Counter
	remembered  prometheus.Gauge
}

// NewMetrics creates the plays metrics and registers them on reg (nil:
// nowhere). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		plays: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_plays_total",
			Help: "Plays asked for at /play, by result (counted; repeat: the same listener and track within 30 minutes; unknown_track: no such track shown, or no playable audio; dropped: counted but lost, the store failing too long).",
		}, []string{"result"}),
		flushErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "relay_plays_flush_errors_total",
			Help: "Flushes of counted plays to the store that failed (their counts are kept and tried again).",
		}),
		remembered: f.NewGauge(prometheus.GaugeOpts{
			Name: "relay_plays_listens_remembered",
			Help: "Listens (listener and track) remembered to dedupe plays within 30 minutes, as of the last flush.",
		}),
	}
	for _, r := range []string{resultCounted, resultRepeat, resultUnknownTrack, resultDropped} {
		m.plays.WithLabelValues(r)
	}
	return m
}
