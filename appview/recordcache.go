package appview

import (
	"sync"

	"github.com/goccy/go-json"

	"github.com/relaymusic/relay"
)

// recordCacheBytes bounds the served records kept between requests: about
// 13k records of the bench corpus (600 bytes each), the 190 deep feed
// pages make bench asks plus their search hits. servedRecord was 28% of a
// deep feed page's CPU (BenchmarkFeedDeep profile).
const recordCacheBytes = 8 << 20

// recordCache keeps servedRecord's answers, so a record is decoded and
// encoded again once per version rather than once per page that shows it.
// The key is the row's version (at-uri, rev, cid): the store replaces a
// row only with a newer rev, so an entry is never stale, and nothing needs
// to be invalidated. It holds two generations of at most half the bound
// each: when the current one fills, the previous is dropped and the
// current becomes it, and an entry found there is moved back. That is an
// LRU to within a generation, with one map operation per lookup.
type recordCache struct {
	mu         sync.Mutex
	cur, prev  map[string]json.RawMessage
	curBytes   int
	limit      int // bytes per generation
	hits, miss func()
}

func newRecordCache(maxBytes int, m *Metrics) *recordCache {
	c := &recordCache{cur: map[string]json.RawMessage{}, limit: maxBytes / 2, hits: func() {}, miss: func() {}}
	if m != nil {
		c.hits, c.miss = m.recordCache.WithLabelValues("hit").Inc, m.recordCache.WithLabelValues("miss").Inc
	}
	return c
}

func recordKey(t *relay.StoredTrack) string {
	return t.URI().String() + " " + t.Rev + " " + t.CID
}

// served returns servedRecord(t), from the cache when it can. The bytes
// returned are shared: callers only encode them.
func (c *recordCache) served(t *relay.StoredTrack) json.RawMessage {
	if c == nil || t.Rev == "" {
		return servedRecord(t)
	}
	k := recordKey(t)
	c.mu.Lock()
	b, ok := c.cur[k]
	if !ok {
		if b, ok = c.prev[k]; ok {
			c.putLocked(k, b)
		}
	}
	c.mu.Unlock()
	if ok {
		c.hits()
		return b
	}
	c.miss()
	b = servedRecord(t)
	c.mu.Lock()
	c.putLocked(k, b)
	c.mu.Unlock()
	return b
}

func (c *recordCache) putLocked(k string, b json.RawMessage) {
	size := len(k) + len(b) + 64 // the map entry's own overhead, roughly
	if size > c.limit {
		return
	}
	if _, ok := c.cur[k]; ok {
		return
	}
	if c.curBytes+size > c.limit {
		c.prev, c.cur, c.curBytes = c.cur, make(map[string]json.RawMessage, len(c.cur)), 0
	}
	c.cur[k] = b
	c.curBytes += size
}
