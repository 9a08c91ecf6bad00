package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/bench/corpus"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/sqlite"
)

// sample is what the lookup scenarios need of the corpus, drawn in the one
// pass over it that benchCorpus makes anyway: batches of at-uris for
// getTracks, the artist with most tracks for getArtistFeed, the names
// searchArtists is asked, and the plays that make trending.
type sample struct {
	batches     [][]string // getTracks: 25 at-uris each
	bigArtist   syntax.DID
	bigTracks   int
	artistNames []string
	plays       []relay.PlayCount
	playTracks  int
}

const (
	getTracksBatches = 200
	getTracksURIs    = 25 // the lexicon's maximum
	artistQueries    = 200
	// playDays is how far back plays go: trending's week window holds
	// them all, its day window a seventh.
	playDays = 7
)

// sampler draws a sample while the corpus' tracks go by, in order.
type sampler struct {
	s        sample
	uriAt    map[int][][2]int // track index -> its (batch, position)s in getTracks
	playsAt  map[int][]playHour
	perDID   map[syntax.DID]int
	i        int
	openHour int64
}

type playHour struct{ hour, n int64 }

// newSampler picks which tracks are sampled, from seed, for a corpus of n
// tracks. Plays: a popular few tracks get most of them (Zipf over a
// permutation of the corpus, so popularity is not age), each play row is
// one track's listeners in one hour of the last playDays.
func newSampler(spec corpus.Spec, seed uint64, now time.Time) *sampler {
	n := spec.Tracks
	rng := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	sm := &sampler{
		uriAt: map[int][][2]int{}, playsAt: map[int][]playHour{}, perDID: map[syntax.DID]int{},
		openHour: now.Unix() / relay.HourSeconds,
	}
	sm.s.batches = make([][]string, getTracksBatches)
	for b := range sm.s.batches {
		sm.s.batches[b] = make([]string, getTracksURIs)
		for p := range getTracksURIs {
			i := rng.IntN(n)
			sm.uriAt[i] = append(sm.uriAt[i], [2]int{b, p})
		}
	}
	rows := min(200_000, max(1, n/5))
	zipf := rand.NewZipf(rng, 1.2, 4, uint64(n-1))
	const mult = 2654435761 // a prime: i -> i*mult mod n is a permutation unless n is its multiple
	for range rows {
		i := int((zipf.Uint64() * mult) % uint64(n))
		h := sm.openHour - 1 - int64(rng.IntN(playDays*24))
		sm.playsAt[i] = append(sm.playsAt[i], playHour{hour: h, n: 1 + int64(rng.IntN(20))})
	}
	sm.s.playTracks = len(sm.playsAt)
	// Artist names as typed: the whole name, or its first three letters
	// (search as you type).
	artists := corpus.New(spec).Artists()
	for q := range artistQueries {
		name := artists[rng.IntN(len(artists))].Name
		if q%2 == 1 {
			name = prefixRunes(name, 3)
		}
		sm.s.artistNames = append(sm.s.artistNames, name)
	}
	return sm
}

func prefixRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// see takes the corpus' next track.
func (sm *sampler) see(t *relay.Track) {
	i := sm.i
	sm.i++
	for _, at := range sm.uriAt[i] {
		sm.s.batches[at[0]][at[1]] = t.URI().String()
	}
	for _, p := range sm.playsAt[i] {
		sm.s.plays = append(sm.s.plays, relay.PlayCount{DID: t.DID, Collection: t.Collection, RKey: t.RKey, Hour: p.hour, N: p.n})
	}
	sm.perDID[t.DID]++
	if c := sm.perDID[t.DID]; c > sm.s.bigTracks {
		sm.s.bigArtist, sm.s.bigTracks = t.DID, c
	}
}

// writePlays adds the sample's plays to the data dir's store, as the plays
// counter flushes them (AddPlays), in batches. They go into the copy that
// is served, at the hours before now, so the trending windows hold them
// whenever the bench runs (a cached corpus' plays would age out of them).
func writePlays(ctx context.Context, dataDir string, plays []relay.PlayCount) error {
	store, err := sqlite.Open(ctx, datadir.StorePath(dataDir))
	if err != nil {
		return fmt.Errorf("opening the corpus store for plays: %w", err)
	}
	const batch = 10_000
	for len(plays) > 0 {
		n := min(batch, len(plays))
		if err := store.AddPlays(ctx, plays[:n]); err != nil {
			store.Close()
			return fmt.Errorf("adding plays: %w", err)
		}
		plays = plays[n:]
	}
	if err := store.Close(); err != nil {
		return fmt.Errorf("closing the corpus store after plays: %w", err)
	}
	return nil
}

// getTracksURLs are the getTracks requests of the sample's batches.
func (s *sample) getTracksURLs(base string) []string {
	var out []string
	for _, b := range s.batches {
		q := url.Values{}
		for _, u := range b {
			q.Add("uris", u)
		}
		out = append(out, base+"/xrpc/app.relay.feed.getTracks?"+q.Encode())
	}
	return out
}
