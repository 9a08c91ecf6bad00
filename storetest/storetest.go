package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/appview"
	"github.com/relaymusic/relay/audiocheck"
	"github.com/relaymusic/relay/indexer"
	"github.com/relaymusic/relay/plays"
	"github.com/relaymusic/relay/search"
)

// Backend is everything relay asks of a store: the union of the interfaces
// its consumers declare, so a backend that passes Run can be wired in place
// of SQLite without touching them.
type Backend interface {
	indexer.Store    // ApplyBatch, Cursor
	search.Store     // Changes, OutboxSeq, OutboxFloor, PruneOutbox, VisibleTracks
	appview.Store    // Feed, Tracks, ArtistFeed, Artists, ArtistByHandle, Albums
	Backfill         // backfill.go
	audiocheck.Store // SyncAudioChecks, DueAudioChecks, SaveAudioCheck, AudioOutboxCursor
	plays.Store      // AddPlays (Trending is appview.Store's)
}

// Run checks the backend that open returns against the store contract
// (doc.go). Each subtest calls open for a fresh, empty backend; open should
// register its own cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, func(t *testing.T) Backend)
	}{
		{"apply", testApply},
		{"stale rev", testStaleRev},
		{"tombstone", testTombstone},
		{"account visibility", testAccounts},
		{"backfill resync", testResync},
		{"backfill queue", testBackfillQueue},
		{"outbox", testOutbox},
		{"outbox concurrent writers", testOutboxConcurrent},
		{"feed", testFeed},
		{"lookup", testTracks},
		{"collections", testCollections},
		{"artists", testArtists},
		{"artists search", testArtistsSearch},
		{"audio", testAudio},
		{"plays", testPlays},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, open) })
	}
}

// fixture is one fresh backend and helpers that fail the test on error.
type fixture struct {
	t   *testing.T
	ctx context.Context
	b   Backend
}

func newFixture(t *testing.T, open func(t *testing.T) Backend) *fixture {
	t.Helper()
	return &fixture{t: t, ctx: t.Context(), b: open(t)}
}

func (f *fixture) apply(events ...relay.Event) relay.ApplyResult {
	f.t.Helper()
	return f.applyAt(0, events...)
}

func (f *fixture) applyAt(cursor int64, events ...relay.Event) relay.ApplyResult {
	f.t.Helper()
	res, err := f.b.ApplyBatch(f.ctx, events, cursor)
	if err != nil {
		f.t.Fatalf("ApplyBatch: %v", err)
	}
	return res
}

// feed returns the whole feed (every visible track, in order).
func (f *fixture) feed() []*relay.StoredTrack {
	f.t.Helper()
	rows, err := f.b.Feed(f.ctx, nil, 1000)
	if err != nil {
		f.t.Fatalf("Feed: %v", err)
	}
	return rows
}

func (f *fixture) lookup(uris ...syntax.ATURI) []*relay.StoredTrack {
	f.t.Helper()
	rows, err := f.b.Tracks(f.ctx, uris)
	if err != nil {
		f.t.Fatalf("Tracks: %v", err)
	}
	return rows
}

// get returns the track at uri as Tracks shows it, nil when it is not shown.
func (f *fixture) get(uri syntax.ATURI) *relay.StoredTrack {
	f.t.Helper()
	rows := f.lookup(uri)
	switch len(rows) {
	case 0:
		return nil
	case 1:
		if rows[0].URI() != uri {
			f.t.Fatalf("Tracks(%s) returned %s", uri, rows[0].URI())
		}
		return rows[0]
	default:
		f.t.Fatalf("Tracks(%s) returned %d rows", uri, len(rows))
		return nil
	}
}

// visible returns the uris VisibleTracks yields.
func (f *fixture) visible() map[syntax.ATURI]*relay.Track {
	f.t.Helper()
	out := map[syntax.ATURI]*relay.Track{}
	for tr, err := range f.b.VisibleTracks(f.ctx) {
		if err != nil {
			f.t.Fatalf("VisibleTracks: %v", err)
		}
		if _, dup := out[tr.URI()]; dup {
			f.t.Fatalf("VisibleTracks yielded %s twice", tr.URI())
		}
		out[tr.URI()] = tr
	}
	return out
}

func (f *fixture) changes(after int64, limit int) []relay.Change {
	f.t.Helper()
	cs, err := f.b.Changes(f.ctx, after, limit)
	if err != nil {
		f.t.Fatalf("Changes(%d, %d): %v", after, limit, err)
	}
	return cs
}

func (f *fixture) head() int64 {
	f.t.Helper()
	seq, err := f.b.OutboxSeq(f.ctx)
	if err != nil {
		f.t.Fatalf("OutboxSeq: %v", err)
	}
	return seq
}

// since returns the changes written after seq (all of them).
func (f *fixture) since(seq int64) []relay.Change {
	f.t.Helper()
	return f.changes(seq, 100000)
}

// shownEverywhere fails unless uri is in Feed, Tracks and VisibleTracks
// (want true) or in none of them (want false).
func (f *fixture) shownEverywhere(uri syntax.ATURI, want bool) {
	f.t.Helper()
	inFeed := slices.ContainsFunc(f.feed(), func(r *relay.StoredTrack) bool { return r.URI() == uri })
	inTracks := f.get(uri) != nil
	_, inVisible := f.visible()[uri]
	if inFeed != want || inTracks != want || inVisible != want {
		f.t.Errorf("%s shown: Feed %v, Tracks %v, VisibleTracks %v; want %v everywhere", uri, inFeed, inTracks, inVisible, want)
	}
}

// lastChange returns the last change for uri in cs (nil: none).
func lastChange(cs []relay.Change, uri syntax.ATURI) *relay.Change {
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].URI == uri {
			return &cs[i]
		}
	}
	return nil
}

// Fixtures. Revs and record keys are TIDs made from counters, so their
// order is the counters' order.

var base = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func rev(n int) string { return syntax.NewTID(base.UnixMicro()+int64(n), 0).String() }

func rkey(n int) syntax.RecordKey {
	return syntax.RecordKey(syntax.NewTID(base.UnixMicro()+int64(n), 1).String())
}

func did(n int) syntax.DID { return syntax.DID(fmt.Sprintf("did:plc:storetest%016d", n)) }

// revs hands out increasing revs to concurrent writers.
var revCounter atomic.Int64

func nextRev() string { return rev(1000000 + int(revCounter.Add(1))) }

// cidOf returns a real CID (dag-cbor, sha-256) of s.
func cidOf(s string) string {
	c, err := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: 0x12 /* sha2-256 */, MhLength: -1}.Sum([]byte(s))
	if err != nil {
		panic(err)
	}
	return c.String()
}

// track is a minimal valid track; its CID follows its title and rev.
func track(d syntax.DID, rk syntax.RecordKey, rv, title string, created time.Time) *relay.Track {
	rec, _ := json.Marshal(map[string]any{
		"$type": relay.TrackCollection, "title": title, "artist": "Sigur Rós",
		"audioUrl": "https://audio.example/a.mp3", "fileType": "mp3",
		"createdAt": created.Format(time.RFC3339Nano),
	})
	return &relay.Track{
		DID: d, Collection: relay.TrackCollection, RKey: rk, Rev: rv, CID: cidOf(title + "\x00" + created.String()),
		Title: title, Artist: "Sigur Rós", FileType: "mp3", AudioURL: "https://audio.example/a.mp3",
		Record: rec, CreatedAt: created,
	}
}

func put(t *relay.Track) relay.Event { return relay.Event{Kind: relay.TrackPut, DID: t.DID, Track: t} }

func del(d syntax.DID, rk syntax.RecordKey, rv string) relay.Event {
	return relay.Event{Kind: relay.TrackDelete, DID: d, Collection: relay.TrackCollection, RKey: rk, Rev: rv}
}

func account(d syntax.DID, active bool, status string) relay.Event {
	return relay.Event{Kind: relay.AccountStatus, DID: d, Active: active, Status: status}
}

func identity(d syntax.DID, handle string) relay.Event {
	return relay.Event{Kind: relay.IdentityUpdate, DID: d, Handle: handle}
}

// sameJSON reports whether a and b are the same JSON value (a backend may
// re-encode a record; it must not change it).
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// emptyOr treats nil and empty slices alike.
func emptyOr[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func uris(rows []*relay.StoredTrack) []syntax.ATURI {
	out := make([]syntax.ATURI, len(rows))
	for i, r := range rows {
		out[i] = r.URI()
	}
	return out
}

func handles(rows []*relay.StoredTrack) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Handle
	}
	return out
}
