package search_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// artistEnv is a real SQLite store and the search index following it, as
// serve runs them.
type artistEnv struct {
	t     *testing.T
	ctx   context.Context
	store *sqlite.Store
	ix    *search.Index
	dir   string
	n     int
}

func newArtistEnv(t *testing.T) *artistEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &artistEnv{t: t, ctx: t.Context(), store: st, dir: filepath.Join(dir, "search.bleve")}
	e.open()
	t.Cleanup(func() {
		if e.ix != nil {
			_ = e.ix.Close()
		}
	})
	return e
}

// open opens the index through OpenCurrent, as a serving process does.
func (e *artistEnv) open() {
	e.t.Helper()
	ix, err := search.OpenCurrent(e.ctx, e.dir, e.store, nil)
	if err != nil {
		e.t.Fatalf("OpenCurrent: %v", err)
	}
	e.ix = ix
}

// close closes the index, as a stopping process does.
func (e *artistEnv) close() {
	e.t.Helper()
	if err := e.ix.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.ix = nil
}

func artistDID(name string) syntax.DID { return syntax.DID("did:plc:" + name) }

// put is a track event of did crediting artist.
func (e *artistEnv) put(did syntax.DID, artist string) relay.Event {
	e.n++
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(e.n) * time.Minute)
	rk := syntax.RecordKey(syntax.NewTID(at.UnixMicro(), 0).String())
	return relay.Event{Kind: relay.TrackPut, DID: did, Track: &relay.Track{
		DID: did, Collection: relay.TrackCollection, RKey: rk, Rev: syntax.NewTIDNow(0).String(),
		Title: fmt.Sprintf("track %d", e.n), Artist: artist, FileType: "mp3",
		AudioURL: fmt.Sprintf("https://audio.example/%d.mp3", e.n), Record: []byte(`{}`), CreatedAt: at,
	}}
}

// due is the handle resolver's question about d.
func (e *artistEnv) due(d syntax.DID) relay.UnresolvedActor {
	e.t.Helper()
	due, err := e.store.UnresolvedActors(e.ctx, time.Now().Add(time.Minute), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range due {
		if a.DID == d {
			return a
		}
	}
	e.t.Fatalf("%s is not due for a lookup: %v", d, due)
	return relay.UnresolvedActor{}
}

func handleEvent(did syntax.DID, h string) relay.Event {
	return relay.Event{Kind: relay.IdentityUpdate, DID: did, Handle: h}
}

// apply writes events to the store and brings the index up to date.
func (e *artistEnv) apply(evs ...relay.Event) {
	e.t.Helper()
	if _, err := e.store.ApplyBatch(e.ctx, evs, 0); err != nil {
		e.t.Fatal(err)
	}
	e.catchUp()
}

func (e *artistEnv) catchUp() {
	e.t.Helper()
	if _, err := e.ix.CatchUp(e.ctx, e.store); err != nil {
		e.t.Fatal(err)
	}
}

func (e *artistEnv) find(q string) []syntax.DID {
	e.t.Helper()
	res, err := e.ix.SearchArtists(e.ctx, search.ArtistQuery{Text: q, Limit: 100})
	if err != nil {
		e.t.Fatalf("SearchArtists(%q): %v", q, err)
	}
	return res.DIDs
}

var (
	bjork     = artistDID("bjork")
	radiohead = artistDID("radiohead")
	alice     = artistDID("alice")
	alicia    = artistDID("alicia")
	// echoBig sorts after echoSmall by DID, so only its track count can
	// put it first.
	echoBig   = artistDID("echoz")
	echoSmall = artistDID("echoa")
)

// artistCatalogue: Björk known only by her credited name (her handle says
// nothing of it), Radiohead, two artists whose handles share a prefix, and
// two artists of one name with different catalogues.
func (e *artistEnv) artistCatalogue() {
	e.apply(
		e.put(bjork, "Björk"), e.put(bjork, "Björk"), e.put(bjork, "Björk Guðmundsdóttir"),
		e.put(radiohead, "Radiohead"), e.put(radiohead, "Radiohead"),
		e.put(alice, "Alice Coltrane"),
		e.put(alicia, "Alicia Keys"), e.put(alicia, "Alicia Keys"),
		e.put(echoSmall, "Echo"),
		e.put(echoBig, "Echo"), e.put(echoBig, "Echo"), e.put(echoBig, "Echo"),
		handleEvent(bjork, "gudmundsdottir.example"),
		handleEvent(radiohead, "radiohead.bsky.social"),
		handleEvent(alice, "alice.bsky.social"),
		handleEvent(alicia, "alicia.example"),
	)
}

// TestSearchArtists: an artist is found by its credited names and its
// handle, folded and typo-tolerant as tracks are, best match first and the
// larger catalogue first among equals.
func TestSearchArtists(t *testing.T) {
	e := newArtistEnv(t)
	e.artistCatalogue()
	for _, tc := range []struct {
		q    string
		want []syntax.DID
	}{
		{"bjork", []syntax.DID{bjork}},
		{"BJÖRK", []syntax.DID{bjork}},
		{"björk!", []syntax.DID{bjork}},
		{"gudmundsdottir", []syntax.DID{bjork}}, // the handle's first label, and the second name folded
		{"radiohed", []syntax.DID{radiohead}},   // a typo
		{"radioh", []syntax.DID{radiohead}},     // typed so far
		{"radiohead.bsky.social", []syntax.DID{radiohead}},
		{"alice.b", []syntax.DID{alice}}, // the handle as a prefix: not alicia.example
		{"alice", []syntax.DID{alice}},
		{"alicia", []syntax.DID{alicia}},
		{"coltrane", []syntax.DID{alice}},
		{"echo", []syntax.DID{echoBig, echoSmall}}, // equal matches: more tracks first
		{"nobody", nil},
	} {
		if got := e.find(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.q, got, tc.want)
		}
	}
	// Tracks and artists share the index, never a result.
	res, err := e.ix.Search(e.ctx, search.Query{Text: "radiohead", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.URIs) != 2 {
		t.Errorf("track search for radiohead: %v, want its 2 tracks", res.URIs)
	}
	if n, err := e.ix.DocCount(); err != nil || n != 12 {
		t.Errorf("DocCount = %d, %v; want the 12 tracks", n, err)
	}
	if n, err := e.ix.ArtistCount(e.ctx); err != nil || n != 6 {
		t.Errorf("ArtistCount = %d, %v; want 6", n, err)
	}
}

// TestArtistFollowsTheStore: a renamed artist is found by its new handle
// and not its old one, whether the identity event or the handle resolver
// renamed it; an artist whose last track goes, or whose account is
// deactivated, is not found until it has a visible track again.
func TestArtistFollowsTheStore(t *testing.T) {
	e := newArtistEnv(t)
	e.artistCatalogue()

	e.apply(handleEvent(radiohead, "thomyorke.example"))
	if got := e.find("thomyorke"); !slices.Equal(got, []syntax.DID{radiohead}) {
		t.Errorf("new handle: %v", got)
	}
	if got := e.find("radiohead.bsky.social"); len(got) != 0 {
		t.Errorf("old handle still finds %v", got)
	}

	// The resolver's answer: an identity event without a handle asks for a
	// lookup, which finds another.
	e.apply(handleEvent(alice, ""))
	if err := e.store.SetResolvedHandle(e.ctx, e.due(alice), "turiya.example"); err != nil {
		t.Fatal(err)
	}
	e.catchUp()
	if got := e.find("turiya"); !slices.Equal(got, []syntax.DID{alice}) {
		t.Errorf("resolved handle: %v", got)
	}
	if got := e.find("alice.b"); len(got) != 0 {
		t.Errorf("old handle still finds %v", got)
	}
	// A lookup that does not verify clears the handle: not found by it.
	e.apply(handleEvent(alice, ""))
	if err := e.store.HandleUnverified(e.ctx, e.due(alice), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.catchUp()
	if got := e.find("turiya"); len(got) != 0 {
		t.Errorf("unverified handle still finds %v", got)
	}
	if got := e.find("coltrane"); !slices.Equal(got, []syntax.DID{alice}) {
		t.Errorf("by name after losing the handle: %v", got)
	}

	// Deactivated, then active again.
	e.apply(relay.Event{Kind: relay.AccountStatus, DID: bjork, Active: false, Status: "deactivated"})
	if got := e.find("bjork"); len(got) != 0 {
		t.Errorf("deactivated artist found: %v", got)
	}
	e.apply(relay.Event{Kind: relay.AccountStatus, DID: bjork, Active: true})
	if got := e.find("bjork"); !slices.Equal(got, []syntax.DID{bjork}) {
		t.Errorf("reactivated artist: %v", got)
	}

	// The last track deleted: gone; the first of the two: still there.
	rows, err := e.store.ArtistFeed(e.ctx, echoBig, "", nil, 10)
	if err != nil || len(rows) != 3 {
		t.Fatalf("ArtistFeed = %d, %v", len(rows), err)
	}
	del := func(tr *relay.StoredTrack) relay.Event {
		return relay.Event{Kind: relay.TrackDelete, DID: tr.DID, Collection: tr.Collection, RKey: tr.RKey, Rev: syntax.NewTIDNow(0).String()}
	}
	e.apply(del(rows[0]), del(rows[1]))
	// Both have one track now: the tie is broken by DID.
	if got := e.find("echo"); !slices.Equal(got, []syntax.DID{echoSmall, echoBig}) {
		t.Errorf("echo after echoBig lost two tracks: %v", got)
	}
	e.apply(del(rows[2]))
	if got := e.find("echo"); !slices.Equal(got, []syntax.DID{echoSmall}) {
		t.Errorf("echo after echoBig's last track went: %v", got)
	}
}

// TestArtistNamesBounded: an artist crediting more names than an artist
// document holds is found by its most used ones, not by the rest.
func TestArtistNamesBounded(t *testing.T) {
	e := newArtistEnv(t)
	d := artistDID("prolific")
	// Each name starts with its own letter, so no typo of one is another.
	names := []string{"amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "jasper",
		"kelp", "lagoon", "marble", "nectar", "onyx", "pebble", "quartz", "russet", "saffron", "tundra"}
	var evs []relay.Event
	for i, name := range names {
		// amber on 20 tracks, basalt on 19, ... tundra on one.
		for range len(names) - i {
			evs = append(evs, e.put(d, name))
		}
	}
	e.apply(evs...)
	for _, q := range []string{"amber", "pebble"} {
		if got := e.find(q); !slices.Equal(got, []syntax.DID{d}) {
			t.Errorf("%s, among the 16 most used names: %v", q, got)
		}
	}
	for _, q := range []string{"quartz", "tundra"} {
		if got := e.find(q); len(got) != 0 {
			t.Errorf("%s, past the bound of names, found %v", q, got)
		}
	}
}

// TestArtistPagingUnderWrites pages through an artist search while
// artists arrive and leave: none is returned twice, and none present from
// the first page to the last is skipped.
func TestArtistPagingUnderWrites(t *testing.T) {
	e := newArtistEnv(t)
	var evs []relay.Event
	var all []syntax.DID
	for i := range 40 {
		d := artistDID(fmt.Sprintf("nova%02d", i))
		all = append(all, d)
		for range 1 + i%4 {
			evs = append(evs, e.put(d, fmt.Sprintf("Nova %02d", i)))
		}
	}
	e.apply(evs...)
	seen := map[syntax.DID]int{}
	gone := map[syntax.DID]bool{}
	cursor := ""
	for page := 0; ; page++ {
		res, err := e.ix.SearchArtists(e.ctx, search.ArtistQuery{Text: "nova", Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		for _, d := range res.DIDs {
			seen[d]++
		}
		if res.Cursor == "" {
			break
		}
		cursor = res.Cursor
		// Between pages: a new Nova artist, another track for one seen,
		// and one not yet seen deactivated.
		n := artistDID(fmt.Sprintf("novanew%02d", page))
		victim := all[len(all)-1-page]
		gone[victim] = true
		e.apply(e.put(n, "Nova New"), e.put(all[page], "Nova more"),
			relay.Event{Kind: relay.AccountStatus, DID: victim, Active: false, Status: "deactivated"})
	}
	for d, n := range seen {
		if n > 1 {
			t.Errorf("%s returned %d times", d, n)
		}
		if gone[d] && n > 0 {
			// Deactivated after the ranking froze, it may only show on a
			// page served before it went.
			continue
		}
	}
	for _, d := range all {
		if !gone[d] && seen[d] != 1 {
			t.Errorf("%s, present throughout, returned %d times", d, seen[d])
		}
	}
}

// failingNames is the real store whose artist reads fail after a while: a
// crash in the middle of an apply, before its batch is written.
type failingNames struct {
	*sqlite.Store
	fail bool
}

func (f *failingNames) ArtistNames(ctx context.Context, dids []syntax.DID, n int) (map[syntax.DID][]string, error) {
	if f.fail {
		return nil, errors.New("crash")
	}
	return f.Store.ArtistNames(ctx, dids, n)
}

// TestArtistsAfterCrash: an apply that dies before its batch leaves the
// index at its last seq with its artists as they were; reopened, it catches
// up with the store, renames and removals included, and holds exactly the
// store's artists.
func TestArtistsAfterCrash(t *testing.T) {
	e := newArtistEnv(t)
	e.artistCatalogue()
	before, err := e.ix.AppliedSeq()
	if err != nil {
		t.Fatal(err)
	}
	// The store moves on; the index's apply of it dies.
	if _, err := e.store.ApplyBatch(e.ctx, []relay.Event{
		handleEvent(radiohead, "kida.example"),
		relay.Event{Kind: relay.AccountStatus, DID: alicia, Active: false, Status: "deleted"},
		e.put(artistDID("newcomer"), "Newcomer"),
	}, 0); err != nil {
		t.Fatal(err)
	}
	src := &failingNames{Store: e.store, fail: true}
	if _, err := e.ix.CatchUp(e.ctx, src); err == nil {
		t.Fatal("CatchUp with failing artist reads: want an error")
	}
	if got, _ := e.ix.AppliedSeq(); got != before {
		t.Fatalf("a failed apply moved the index from seq %d to %d", before, got)
	}
	if got := e.find("alicia"); !slices.Equal(got, []syntax.DID{alicia}) {
		t.Errorf("before recovery the index is as it was: %v", got)
	}

	// Restart: reopen from disk, catch up, compare with the store.
	e.close()
	e.open()
	e.catchUp()
	for q, want := range map[string][]syntax.DID{
		"kida":     {radiohead},
		"radiohed": {radiohead},
		"alicia":   nil,
		"newcomer": {artistDID("newcomer")},
	} {
		if got := e.find(q); !slices.Equal(got, want) {
			t.Errorf("after recovery %q: %v, want %v", q, got, want)
		}
	}
	known := []syntax.DID{bjork, radiohead, alice, alicia, echoBig, echoSmall, artistDID("newcomer")}
	as, err := e.store.Artists(e.ctx, known)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.ix.ArtistCount(e.ctx); err != nil || n != uint64(len(as)) {
		t.Errorf("ArtistCount = %d, %v; the store has %d artists", n, err, len(as))
	}

	// A rebuild from the store gives the same artists.
	e.close()
	if err := search.RebuildFrom(e.ctx, e.dir, e.store); err != nil {
		t.Fatal(err)
	}
	e.open()
	if n, err := e.ix.ArtistCount(e.ctx); err != nil || n != uint64(len(as)) {
		t.Errorf("rebuilt: ArtistCount = %d, %v; want %d", n, err, len(as))
	}
	if got := e.find("kida"); !slices.Equal(got, []syntax.DID{radiohead}) {
		t.Errorf("rebuilt: kida: %v", got)
	}
}

// TestSearchArtistsBadQueries: every bad input is ErrBadQuery or
// ErrBadCursor, including a track search's cursor and one of another query.
func TestSearchArtistsBadQueries(t *testing.T) {
	e := newArtistEnv(t)
	e.artistCatalogue()
	page, err := e.ix.SearchArtists(e.ctx, search.ArtistQuery{Text: "echo", Limit: 1})
	if err != nil || page.Cursor == "" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	tracks, err := e.ix.Search(e.ctx, search.Query{Text: "track", Limit: 1})
	if err != nil || tracks.Cursor == "" {
		t.Fatalf("track page: %+v, %v", tracks, err)
	}
	long := make([]byte, 257)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct {
		name string
		q    search.ArtistQuery
		want error
	}{
		{"limit 0", search.ArtistQuery{Text: "echo", Limit: 0}, search.ErrBadQuery},
		{"limit 101", search.ArtistQuery{Text: "echo", Limit: 101}, search.ErrBadQuery},
		{"257 bytes", search.ArtistQuery{Text: string(long), Limit: 10}, search.ErrBadQuery},
		{"no words", search.ArtistQuery{Text: " !? ", Limit: 10}, search.ErrBadQuery},
		{"garbage cursor", search.ArtistQuery{Text: "echo", Limit: 10, Cursor: "%%%"}, search.ErrBadCursor},
		{"track cursor", search.ArtistQuery{Text: "track", Limit: 10, Cursor: tracks.Cursor}, search.ErrBadCursor},
		{"another query's cursor", search.ArtistQuery{Text: "bjork", Limit: 10, Cursor: page.Cursor}, search.ErrBadCursor},
	} {
		if _, err := e.ix.SearchArtists(e.ctx, tc.q); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// And the artist cursor is refused by track search.
	if _, err := e.ix.Search(e.ctx, search.Query{Text: "echo", Limit: 10, Cursor: page.Cursor}); !errors.Is(err, search.ErrBadCursor) {
		t.Errorf("track search with an artist cursor: %v", err)
	}
	next, err := e.ix.SearchArtists(e.ctx, search.ArtistQuery{Text: "echo", Limit: 1, Cursor: page.Cursor})
	if err != nil || !slices.Equal(next.DIDs, []syntax.DID{echoSmall}) || next.Cursor != "" {
		t.Errorf("second page: %+v, %v", next, err)
	}
}
