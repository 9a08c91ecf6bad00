package sqlite

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes the store's contents as metrics: tracks by state,
// artists, and the database's size on disk. Counting scans the tracks table,
// so results are cached for ttl rather than recomputed on every scrape.
func (s *Store) Collector(ttl time.Duration) prometheus.Collector {
	return &collector{s: s, ttl: ttl}
}

var (
	tracksDesc  = prometheus.NewDesc("relay_tracks", "Tracks in the store, by state (visible, hidden: account not active, tombstoned: deleted).", []string{"state"}, nil)
	artistsDesc = prometheus.NewDesc("relay_artists", "Accounts with at least one visible track.", nil, nil)
	dbSizeDesc  = prometheus.NewDesc("relay_sqlite_size_bytes", "Size of the SQLite database on disk, WAL included.", nil, nil)
)

type collector struct {
	s   *Store
	ttl time.Duration

	mu      sync.Mutex
	at      time.Time
	counts  Counts
	artists int64
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tracksDesc
	ch <- artistsDesc
	ch <- dbSizeDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) > c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		counts, err := c.s.Count(ctx)
		if err == nil {
			err = c.s.r.QueryRowContext(ctx, `SELECT COUNT(DISTINCT t.did) FROM tracks t LEFT JOIN actors a ON a.did = t.did WHERE `+visible).Scan(&c.artists)
		}
		cancel()
		if err != nil {
			slog.Warn("counting tracks for metrics failed", "err", err)
		} else {
			c.counts, c.at = counts, time.Now()
		}
	}
	counts, artists := c.counts, c.artists
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(tracksDesc, prometheus.GaugeValue, float64(counts.Visible), "visible")
	ch <- prometheus.MustNewConstMetric(tracksDesc, prometheus.GaugeValue, float64(counts.Hidden), "hidden")
	ch <- prometheus.MustNewConstMetric(tracksDesc, prometheus.GaugeValue, float64(counts.Tombstoned), "tombstoned")
	ch <- prometheus.MustNewConstMetric(artistsDesc, prometheus.GaugeValue, float64(artists))
	var size int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(c.s.path + suffix); err == nil {
			size += fi.Size()
		}
	}
	ch <- prometheus.MustNewConstMetric(dbSizeDesc, prometheus.GaugeValue, float64(size))
}
