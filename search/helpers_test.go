package search

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

const testDID = syntax.DID("did:plc:relaytestcatalogue")

// track is a catalogue entry; key doubles as the record key.
func track(key, artist, title, album, genre string, tags []string, sortAt time.Time) *relay.Track {
	return &relay.Track{
		DID: testDID, Collection: relay.TrackCollection, RKey: syntax.RecordKey(key),
		Title: title, Artist: artist, Album: album, Genre: genre, Tags: tags,
		CreatedAt: sortAt, IndexedAt: sortAt, SortAt: sortAt,
	}
}

func uriOf(key string) string {
	return relay.TrackURI(testDID, relay.TrackCollection, syntax.RecordKey(key)).String()
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// catalogue is a small, real-looking library covering diacritics, stop-word
// band names, non-Latin scripts and near-miss words.
func catalogue() []*relay.Track {
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
	return []*relay.Track{
		track("joga", "Björk", "Jóga", "Homogenic", "Art Pop", []string{"icelandic", "electronic"}, day(1)),
		track("hoppipolla", "Sigur Rós", "Hoppípolla", "Takk...", "Post-Rock", []string{"icelandic"}, day(2)),
		track("aceofspades", "Motörhead", "Ace of Spades", "Ace of Spades", "Heavy Metal", []string{"metal", "speed"}, day(3)),
		track("babaoriley", "The Who", "Baba O'Riley", "Who's Next", "Rock", nil, day(4)),
		track("thisistheday", "The The", "This Is the Day", "Soul Mining", "Post-Punk", nil, day(5)),
		track("halo", "Beyoncé", "Halo", "I Am... Sasha Fierce", "R&B", []string{"pop"}, day(6)),
		track("kickstart", "Mötley Crüe", "Kickstart My Heart", "Dr. Feelgood", "Glam Metal", nil, day(7)),
		track("hbfs", "Daft Punk", "Harder, Better, Faster, Stronger", "Discovery", "French House", []string{"electronic"}, day(8)),
		track("gruppa", "Кино", "Группа крови", "Группа крови", "Post-Punk", []string{"russian"}, day(9)),
		track("yoru", "YOASOBI", "夜に駆ける", "THE BOOK", "J-Pop", []string{"japanese"}, day(10)),
		track("loser", "Beck", "Loser", "Mellow Gold", "Alternative", nil, day(11)),
		track("lover", "Taylor Swift", "Lover", "Lover", "Pop", nil, day(12)),
		track("superbonbon", "Soul Coughing", "Super Bon Bon", "Irresistible Bliss", "Alternative Rock", nil, day(13)),
		track("respect", "Aretha Franklin", "Respect", "I Never Loved a Man the Way I Love You", "Soul", []string{"classic"}, day(14)),
		track("creep", "Radiohead", "Creep", "Pablo Honey", "Alternative Rock", []string{"loser", "90s"}, day(16)),
		track("supercal", "Julie Andrews", "Supercalifragilisticexpialidocious", "Mary Poppins", "Soundtrack", nil, day(15)),
	}
}

// changes turns tracks into outbox entries with seqs from first on.
func changes(first int64, tracks ...*relay.Track) []relay.Change {
	out := make([]relay.Change, len(tracks))
	for i, t := range tracks {
		out[i] = relay.Change{Seq: first + int64(i), URI: t.URI(), Track: t}
	}
	return out
}

func deletion(seq int64, key string) relay.Change {
	return relay.Change{Seq: seq, URI: relay.TrackURI(testDID, relay.TrackCollection, syntax.RecordKey(key))}
}

func openTemp(t *testing.T) (*Index, string) {
	t.Helper()
	dir := t.TempDir() + "/index"
	ix, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	return ix, dir
}

// catalogueIndex is an index holding catalogue(), applied at seqs 1..n.
func catalogueIndex(t *testing.T) *Index {
	t.Helper()
	ix, _ := openTemp(t)
	if err := ix.Apply(context.Background(), changes(1, catalogue()...)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return ix
}

// search runs one page and returns the record keys of the hits.
func searchKeys(t *testing.T, ix *Index, q Query) ([]string, Result) {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	res, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	keys := make([]string, len(res.URIs))
	for i, u := range res.URIs {
		keys[i] = string(syntax.ATURI(u).RecordKey())
	}
	return keys, res
}

// fakeSource is an in-memory outbox.
type fakeSource struct {
	mu      sync.Mutex
	entries []relay.Change
	failN   int // fail this many calls before answering
	calls   int
}

func (s *fakeSource) add(cs ...relay.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, cs...)
}

func (s *fakeSource) OutboxSeq(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) == 0 {
		return 0, nil
	}
	return s.entries[len(s.entries)-1].Seq, nil
}

// PruneOutbox keeps the entries: tests read them again.
func (s *fakeSource) PruneOutbox(ctx context.Context, seq int64) error { return nil }

func (s *fakeSource) Changes(ctx context.Context, after int64, limit int) ([]relay.Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failN > 0 {
		s.failN--
		return nil, fmt.Errorf("outbox unavailable")
	}
	i, _ := slices.BinarySearchFunc(s.entries, after+1, func(c relay.Change, seq int64) int {
		return int(c.Seq - seq)
	})
	end := min(i+limit, len(s.entries))
	return slices.Clone(s.entries[i:end]), nil
}

// Artists and ArtistNames: the fake outbox knows no artists, so catching
// up from it leaves no artist documents (artists_test.go follows a real
// store for those).
func (s *fakeSource) Artists(ctx context.Context, dids []syntax.DID) ([]relay.Artist, error) {
	return nil, nil
}

func (s *fakeSource) ArtistNames(ctx context.Context, dids []syntax.DID, perArtist int) (map[syntax.DID][]string, error) {
	return nil, nil
}
