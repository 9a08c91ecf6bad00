package search

import (
	"io/fs"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the index's own series: the follower's lag and OpenCurrent's
// rebuilds. They are created against the registry they are given (nil: none),
// so each process, and each test, has its own.
type Metrics struct {
	lag      prometheus.Gauge
	rebuilds *prometheus.CounterVec
}

// NewMetrics creates the index's metrics and registers them on reg (if not
// nil). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		lag: f.NewGauge(prometheus.GaugeOpts{
			Name: "relay_index_lag_entries",
			Help: "Outbox entries written to SQLite that the search index has not applied yet.",
		}),
		rebuilds: f.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_index_rebuilds_total",
			Help: "Search index rebuilds from SQLite at start, by reason: damaged (could not be opened or read, moved aside), mapping (other analysis rules), behind (the outbox cannot bring it up to date).",
		}, []string{"reason"}),
	}
	for _, r := range []string{"damaged", "mapping", "behind"} {
		m.rebuilds.WithLabelValues(r) // exported at 0 before the first rebuild
	}
	return m
}

var (
	docsDesc    = prometheus.NewDesc("relay_index_documents", "Tracks in the search index (the visible ones).", nil, nil)
	sizeDesc    = prometheus.NewDesc("relay_index_size_bytes", "Size of the search index on disk.", nil, nil)
	appliedDesc = prometheus.NewDesc("relay_index_applied_seq", "Last outbox sequence the search index applied.", nil, nil)
)

// Collector exposes the index's document count, size on disk and applied
// sequence as metrics; dir is the index directory.
func (ix *Index) Collector(dir string) prometheus.Collector {
	return indexCollector{ix: ix, dir: dir}
}

type indexCollector struct {
	ix  *Index
	dir string
}

func (c indexCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- docsDesc
	ch <- sizeDesc
	ch <- appliedDesc
}

func (c indexCollector) Collect(ch chan<- prometheus.Metric) {
	if n, err := c.ix.DocCount(); err == nil {
		ch <- prometheus.MustNewConstMetric(docsDesc, prometheus.GaugeValue, float64(n))
	}
	if seq, err := c.ix.AppliedSeq(); err == nil {
		ch <- prometheus.MustNewConstMetric(appliedDesc, prometheus.GaugeValue, float64(seq))
	}
	var size int64
	_ = filepath.WalkDir(c.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	ch <- prometheus.MustNewConstMetric(sizeDesc, prometheus.GaugeValue, float64(size))
}
