package appview

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay"
)

// TestRecordCache: an entry answers only for the row version it was made
// from (a new rev or cid is served from its own record, never the old
// one), the cache never holds more than its bound, and hits and misses
// are counted.
func TestRecordCache(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	c := newRecordCache(64<<10, m)
	row := func(n int, rev, cid, title string) *relay.StoredTrack {
		return &relay.StoredTrack{Track: relay.Track{
			DID: artist, Collection: relay.TrackCollection, RKey: syntax.RecordKey(fmt.Sprintf("3l%011d", n)),
			Rev: rev, CID: cid, Title: title,
			Record: []byte(fmt.Sprintf(`{"$type":"app.relay.track","title":%q}`, title)),
		}}
	}
	steps := []struct {
		name      string
		row       *relay.StoredTrack
		wantTitle string
		hit       bool
	}{
		{"first read decodes", row(1, "rev1", "cid1", "one"), "one", false},
		{"same version is a hit", row(1, "rev1", "cid1", "one"), "one", true},
		{"a newer rev is its own entry", row(1, "rev2", "cid2", "two"), "two", false},
		{"same cid, newer rev: its own entry", row(1, "rev3", "cid2", "three"), "three", false},
		{"another track, same rev and cid", row(2, "rev1", "cid1", "other"), "other", false},
		{"the first version is still kept", row(1, "rev1", "cid1", "one"), "one", true},
	}
	hits, misses := 0.0, 0.0
	for _, s := range steps {
		got := string(c.served(s.row))
		if want := string(servedRecord(s.row)); got != want || !strings.Contains(got, `"title":"`+s.wantTitle+`"`) {
			t.Errorf("%s: served %s, want %s (title %q)", s.name, got, want, s.wantTitle)
		}
		if s.hit {
			hits++
		} else {
			misses++
		}
		h := testutil.ToFloat64(m.recordCache.WithLabelValues("hit"))
		mi := testutil.ToFloat64(m.recordCache.WithLabelValues("miss"))
		if h != hits || mi != misses {
			t.Errorf("%s: %v hits and %v misses counted, want %v and %v", s.name, h, mi, hits, misses)
		}
	}

	// Far more records than fit: the two generations stay within the bound.
	for i := range 5000 {
		c.served(row(1000+i, "rev1", "cid1", fmt.Sprintf("title %d", i)))
		c.mu.Lock()
		held := 0
		for _, gen := range []map[string][]byte{toBytes(c.cur), toBytes(c.prev)} {
			for k, v := range gen {
				held += len(k) + len(v) + 64
			}
		}
		c.mu.Unlock()
		if held > 64<<10 {
			t.Fatalf("after %d records the cache holds %d bytes, over %d", i+1, held, 64<<10)
		}
	}
	// The newest is still there.
	before := testutil.ToFloat64(m.recordCache.WithLabelValues("hit"))
	c.served(row(1000+4999, "rev1", "cid1", "title 4999"))
	if testutil.ToFloat64(m.recordCache.WithLabelValues("hit")) != before+1 {
		t.Error("the newest record was not kept")
	}
}

func toBytes[V ~[]byte](m map[string]V) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
