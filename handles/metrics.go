package handles

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var lookupsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "relay_handle_lookups_total",
	Help: "Background handle lookups of artists, by outcome (resolved; unverified: the handle does not resolve back to the DID; failed: the DID could not be resolved).",
}, []string{"outcome"})

func init() {
	for _, o := range []string{outcomeResolved, outcomeUnverified, outcomeFailed} {
		lookupsTotal.WithLabelValues(o)
	}
}
