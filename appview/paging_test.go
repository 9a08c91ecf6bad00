package appview

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/plays"
)

// This file walks every list endpoint page by page over real HTTP (a real
// store and index, the index brought up to date after every write as
// serve's follower does) while tracks are put and deleted between the
// pages, and holds each walk to the paging promise of the lexicons: no item
// shown twice, none shown that had left the list before its page was
// asked, and none skipped that was in the list for the whole walk.

// carolDID is a third artist of the churn catalogue, never filtered on.
const carolDID = syntax.DID("did:plc:carol4rxbvqptxhmrrkjtu6m")

// churnTrack is the model of one track: what the test last wrote of it.
type churnTrack struct {
	did     syntax.DID
	name    string // the artist credited, one per account (churn.names)
	rkey    syntax.RecordKey
	title   string
	album   string
	genre   string
	tags    []string
	created time.Time
	live    bool
	// dayPlays and weekPlays are its plays in the whole hours trending's
	// day and week windows hold (churn.open); plays in the hour in
	// progress count in neither.
	dayPlays, weekPlays int64
}

func (t *churnTrack) uri() string {
	return fmt.Sprintf("at://%s/%s/%s", t.did, relay.TrackCollection, t.rkey)
}

// searched says whether a track search for word finds t: its title or
// its artist's name holds it (albums never do here).
func (t *churnTrack) searched(word string) bool {
	return slices.Contains(strings.Fields(strings.ToLower(t.title+" "+t.name)), word)
}

func (t *churnTrack) hasTag(tag string) bool {
	return slices.ContainsFunc(t.tags, func(s string) bool { return strings.EqualFold(s, tag) })
}

// churn is a catalogue being changed at random from one seed, and its model.
type churn struct {
	e     *env
	rng   *rand.Rand
	all   []*churnTrack // in creation order, so picks follow the seed
	byURI map[string]*churnTrack
	rkeys map[syntax.RecordKey]bool
	dids  []syntax.DID          // accounts other than alice's, bob's and carol's
	names map[syntax.DID]string // each account's artist name
	rev   int64                 // the last rev written, as unix µs: every write's is newer
	base  time.Time
	log   []string // what was done, for a failure's message
	// held collects puts into one batch while the catalogue is set up
	// (hold, flush) rather than one write each.
	held []relay.Event
	hold bool
	// open is the hour in progress when the walk starts (plays.OpenHour).
	// Plays go to hours 2 to 20 before it (both windows), 30 to 100 before
	// it (the week's only), or the hour after it (neither): so the model
	// holds whichever of open and open+1 the first page pins.
	open      int64
	heldPlays []relay.PlayCount
}

// flush writes the held puts in one batch.
func (c *churn) flush() {
	c.e.t.Helper()
	c.hold = false
	if len(c.held) > 0 {
		c.e.add(c.held...)
	}
	c.held = nil
	if len(c.heldPlays) > 0 {
		if err := c.e.store.AddPlays(context.Background(), c.heldPlays); err != nil {
			c.e.t.Fatal(err)
		}
	}
	c.heldPlays = nil
}

// play books n plays of t in the hour ago hours before the open one
// (negative: after it), held while the catalogue is set up.
func (c *churn) play(t *churnTrack, ago, n int64) {
	c.e.t.Helper()
	switch {
	case ago >= 2 && ago <= 20:
		t.dayPlays += n
		t.weekPlays += n
	case ago >= 30 && ago <= 100:
		t.weekPlays += n
	case ago >= 0:
		c.e.t.Fatalf("plays %d hours ago: the model holds only 2-20, 30-100 or the hour to come", ago)
	}
	pc := relay.PlayCount{DID: t.did, Collection: relay.TrackCollection, RKey: t.rkey, Hour: c.open - ago, N: n}
	if c.hold {
		c.heldPlays = append(c.heldPlays, pc)
		return
	}
	if err := c.e.store.AddPlays(context.Background(), []relay.PlayCount{pc}); err != nil {
		c.e.t.Fatal(err)
	}
	c.log = append(c.log, fmt.Sprintf("play %s %d at open-%d", t.uri(), n, ago))
}

// randomPlays gives a new track what random draws it: plays in the day's
// hours half of the time, in the week's older hours a quarter, few of
// them, so that trending's counts tie often.
func (c *churn) randomPlays(t *churnTrack) {
	switch r := c.rng.IntN(4); {
	case r < 2:
		for range 1 + c.rng.IntN(2) {
			c.play(t, 2+c.rng.Int64N(19), 1+c.rng.Int64N(3))
		}
	case r == 2:
		c.play(t, 30+c.rng.Int64N(71), 1+c.rng.Int64N(3))
	}
}

func newChurn(e *env, seed uint64) *churn {
	now := time.Now()
	return &churn{
		e: e, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		byURI: map[string]*churnTrack{}, rkeys: map[syntax.RecordKey]bool{},
		names: map[syntax.DID]string{artist: "Alice River", bobDID: "Bob Ocean", carolDID: "Carol River"},
		rev:   now.UnixMicro(), base: now.Add(-48 * time.Hour).Truncate(time.Minute),
		open: plays.OpenHour(now),
	}
}

var churnWords = []string{"song", "blue", "night", "gold", "fire", "light"}

// account is a new account whose artist name is name (a fresh one when
// empty): "River ..." two times in three, the artist search's query.
func (c *churn) account(name string) syntax.DID {
	d := syntax.DID(fmt.Sprintf("did:plc:churn%04d", len(c.dids)))
	if name == "" {
		name = "Ocean " + churnWords[c.rng.IntN(len(churnWords))]
		if c.rng.IntN(3) > 0 {
			name = "River " + churnWords[c.rng.IntN(len(churnWords))]
		}
	}
	c.dids = append(c.dids, d)
	c.names[d] = name
	return d
}

// random is a fresh track: a "river" title most of the time (the search
// endpoints' query), from few words so that relevance scores tie often,
// and created on a minute of the last 30 days, a third of them at the
// time of another, so that sort times tie too.
// A third are alice's, a third bob's or carol's, the rest of some 30
// other accounts (the artist search's list).
func (c *churn) random() *churnTrack {
	var d syntax.DID
	switch r := c.rng.IntN(6); {
	case r < 2:
		d = artist
	case r < 4:
		d = []syntax.DID{bobDID, carolDID}[r-2]
	case len(c.dids) < 30 || c.rng.IntN(4) == 0:
		d = c.account("")
	default:
		d = c.dids[c.rng.IntN(len(c.dids))]
	}
	t := &churnTrack{
		did:     d,
		name:    c.names[d],
		album:   []string{"", "first album", "second album"}[c.rng.IntN(3)],
		genre:   []string{"Synth Pop", "synth pop", "Rock"}[c.rng.IntN(3)],
		created: c.base.Add(-time.Duration(c.rng.IntN(30*24*60)) * time.Minute),
	}
	words := []string{"ocean"}
	if c.rng.IntN(10) < 7 {
		words[0] = "river"
	}
	for range c.rng.IntN(3) {
		words = append(words, churnWords[c.rng.IntN(len(churnWords))])
	}
	t.title = strings.Join(words, " ")
	if len(c.all) > 0 && c.rng.IntN(3) == 0 {
		// The sort time of another track: ties that only the key breaks.
		t.created = c.all[c.rng.IntN(len(c.all))].created
	}
	for _, tag := range []string{"dance", "DANCE", "Ballad", "60s"} {
		if c.rng.IntN(4) == 0 {
			t.tags = append(t.tags, tag)
		}
	}
	return t
}

// freshRKey is a TID not used before in this catalogue.
func (c *churn) freshRKey() syntax.RecordKey {
	for {
		k := syntax.RecordKey(syntax.NewTID(c.base.UnixMicro()-c.rng.Int64N(1<<40), uint(c.rng.IntN(1024))).String())
		if !c.rkeys[k] {
			c.rkeys[k] = true
			return k
		}
	}
}

func (c *churn) nextRev() string {
	c.rev++
	return syntax.NewTID(c.rev, 0).String()
}

// put writes t (a new track or a new version of one) and catches the
// index up.
func (c *churn) put(t *churnTrack, what string) {
	c.e.t.Helper()
	if t.rkey == "" {
		t.rkey = c.freshRKey()
		c.all = append(c.all, t)
		c.byURI[t.uri()] = t
	}
	t.live = true
	rec := map[string]any{
		"$type": relay.TrackCollection, "title": t.title, "artist": t.name, "genre": t.genre,
		"audioUrl": "https://audio.example/" + t.rkey.String() + ".mp3", "fileType": "mp3",
		"createdAt": t.created.UTC().Format(datetimeLayout),
	}
	if t.album != "" {
		rec["album"] = t.album
	}
	if len(t.tags) > 0 {
		rec["tags"] = t.tags
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		c.e.t.Fatal(err)
	}
	ev := relay.Event{Kind: relay.TrackPut, DID: t.did, Track: &relay.Track{
		DID: t.did, Collection: relay.TrackCollection, RKey: t.rkey, Rev: c.nextRev(),
		CID:   "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq",
		Title: t.title, Artist: t.name, Album: t.album, Genre: t.genre, Tags: slices.Clone(t.tags),
		FileType: "mp3", AudioURL: rec["audioUrl"].(string), Record: raw, CreatedAt: t.created,
	}}
	if c.hold {
		c.held = append(c.held, ev)
	} else {
		c.e.add(ev)
	}
	c.log = append(c.log, fmt.Sprintf("%s %s %q", what, t.uri(), t.title))
}

func (c *churn) delete(t *churnTrack, what string) {
	c.e.t.Helper()
	t.live = false
	c.e.add(relay.Event{Kind: relay.TrackDelete, DID: t.did, Collection: relay.TrackCollection, RKey: t.rkey, Rev: c.nextRev()})
	c.log = append(c.log, fmt.Sprintf("%s %s", what, t.uri()))
}

// pick is a random live track for which ok holds, nil if none does.
func (c *churn) pick(ok func(*churnTrack) bool) *churnTrack {
	var from []*churnTrack
	for _, t := range c.all {
		if t.live && ok(t) {
			from = append(from, t)
		}
	}
	if len(from) == 0 {
		return nil
	}
	return from[c.rng.IntN(len(from))]
}

// listEndpoint is one list endpoint with one set of parameters, and what
// it should list, computed from the model.
type listEndpoint struct {
	name   string
	path   string
	params url.Values
	items  string // the answer's list
	// artists: the list is of accounts (key: did), one for each with a
	// member track; otherwise of tracks (key: uri).
	artists bool
	// member says whether a live track belongs to the list (or makes its
	// account belong).
	member func(*churnTrack) bool
}

// key is what names t's item in the list.
func (ep listEndpoint) key(t *churnTrack) string {
	if ep.artists {
		return t.did.String()
	}
	return t.uri()
}

// itemKey is the key of one item of an answer.
func (ep listEndpoint) itemKey(v any) string {
	f := "uri"
	if ep.artists {
		f = "did"
	}
	k, _ := v.(map[string]any)[f].(string)
	return k
}

// members are the keys the list holds now.
func (ep listEndpoint) members(c *churn) map[string]bool {
	out := map[string]bool{}
	for _, t := range c.all {
		if t.live && ep.member(t) {
			out[ep.key(t)] = true
		}
	}
	return out
}

func searched(word string) func(*churnTrack) bool {
	return func(t *churnTrack) bool { return t.searched(word) }
}

func and(fs ...func(*churnTrack) bool) func(*churnTrack) bool {
	return func(t *churnTrack) bool {
		for _, f := range fs {
			if !f(t) {
				return false
			}
		}
		return true
	}
}

func byArtist(d syntax.DID) func(*churnTrack) bool {
	return func(t *churnTrack) bool { return t.did == d }
}

func pagedEndpoints() []listEndpoint {
	all := func(*churnTrack) bool { return true }
	river := searched("river")
	synth := func(t *churnTrack) bool { return strings.EqualFold(t.genre, "synth pop") }
	dance := func(t *churnTrack) bool { return t.hasTag("dance") }
	search := func(name, sort string, extra url.Values, member func(*churnTrack) bool) listEndpoint {
		p := url.Values{"q": {"river"}, "sort": {sort}}
		for k, v := range extra {
			p[k] = v
		}
		return listEndpoint{name: "searchTracks/" + name, path: "/xrpc/app.relay.feed.searchTracks", params: p, items: "tracks", member: member}
	}
	eps := []listEndpoint{
		{name: "getDiscoveryFeed", path: "/xrpc/app.relay.feed.getDiscoveryFeed", items: "feed", member: all},
		search("top", "top", nil, river),
		search("latest", "latest", nil, river),
		search("top,artist did", "top", url.Values{"artist": {artist.String()}}, and(river, byArtist(artist))),
		search("latest,artist handle", "latest", url.Values{"artist": {"Alice.Example.com"}}, and(river, byArtist(artist))),
		search("top,genre", "top", url.Values{"genre": {"synth pop"}}, and(river, synth)),
		search("latest,genre", "latest", url.Values{"genre": {"SYNTH POP"}}, and(river, synth)),
		search("top,tag", "top", url.Values{"tag": {"dance"}}, and(river, dance)),
		search("latest,tag", "latest", url.Values{"tag": {"Dance"}}, and(river, dance)),
		search("top,artist+genre+tag", "top", url.Values{"artist": {artist.String()}, "genre": {"synth pop"}, "tag": {"dance"}}, and(river, byArtist(artist), synth, dance)),
		search("latest,artist+genre+tag", "latest", url.Values{"artist": {"alice.example.com"}, "genre": {"synth pop"}, "tag": {"dance"}}, and(river, byArtist(artist), synth, dance)),
		{name: "getArtistFeed", path: "/xrpc/app.relay.feed.getArtistFeed", params: url.Values{"actor": {artist.String()}}, items: "feed", member: byArtist(artist)},
		{name: "getArtistFeed/album", path: "/xrpc/app.relay.feed.getArtistFeed", params: url.Values{"actor": {"alice.example.com"}, "album": {"first album"}}, items: "feed",
			member: and(byArtist(artist), func(t *churnTrack) bool { return t.album == "first album" })},
		{name: "getTrending/day", path: "/xrpc/app.relay.feed.getTrending", params: url.Values{"window": {"day"}}, items: "feed",
			member: func(t *churnTrack) bool { return t.dayPlays > 0 }},
		{name: "getTrending/week", path: "/xrpc/app.relay.feed.getTrending", params: url.Values{"window": {"week"}}, items: "feed",
			member: func(t *churnTrack) bool { return t.weekPlays > 0 }},
		// An artist's names are those its tracks credit, and one account
		// credits one name here: it is found while it has a track.
		{name: "searchArtists", path: "/xrpc/app.relay.actor.searchArtists", params: url.Values{"q": {"river"}}, items: "artists", artists: true,
			member: func(t *churnTrack) bool { return slices.Contains(strings.Fields(strings.ToLower(t.name)), "river") }},
	}
	return eps
}

// churnStart is the size of the catalogue a walk starts from, by page
// size: enough that the narrowest list (about a tenth of the tracks) still
// takes more than one page, few enough that walking one item a page, with
// writes between every two, stays quick.
var churnStart = map[int]int{1: 30, 7: 120, 50: 600}

// TestPagingUnderChurn walks every list endpoint (table above) from
// several seeds at page sizes 1, 7 and 50. Between two pages it puts
// tracks newer than all, older than all, and at the exact sort position of
// the page's last item (same sort time; the same title for relevance; as
// many plays for trending), deletes tracks already shown and not yet
// shown, updates one, and books plays in the hour to come; then
// it checks exactly: no uri twice, none shown after it left the list, and
// every track in the list all along shown.
func TestPagingUnderChurn(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, ep := range pagedEndpoints() {
		for _, seed := range seeds {
			for _, limit := range []int{1, 7, 50} {
				t.Run(fmt.Sprintf("%s/seed%d/limit%d", ep.name, seed, limit), func(t *testing.T) {
					// Each walk has its own store and index; the writes'
					// fsyncs overlap.
					t.Parallel()
					walkUnderChurn(t, ep, seed, limit)
				})
			}
		}
	}
}

func walkUnderChurn(t *testing.T, ep listEndpoint, seed uint64, limit int) {
	e := newEnv(t)
	c := newChurn(e, seed)
	c.hold = true
	c.held = append(c.held, relay.Event{Kind: relay.IdentityUpdate, DID: artist, Handle: "alice.example.com"})
	for range churnStart[limit] {
		t := c.random()
		c.put(t, "start")
		c.randomPlays(t)
	}
	c.flush()
	c.log = nil
	fail := func(page int, format string, args ...any) {
		t.Helper()
		tail := c.log[max(0, len(c.log)-12):]
		t.Fatalf("%s seed %d limit %d, page %d: %s\nlast writes between pages:\n  %s",
			ep.name, seed, limit, page, fmt.Sprintf(format, args...), strings.Join(tail, "\n  "))
	}
	// stable: in the list from the start and still now.
	stable := ep.members(c)
	if len(stable) == 0 {
		t.Fatalf("%s seed %d: the catalogue holds nothing this list shows", ep.name, seed)
	}
	seen := map[string]int{} // key -> the page it was shown on
	var (
		cursor string
		page   int
	)
	for ; ; page++ {
		if page > 4*churnStart[limit] {
			fail(page, "paging does not end")
		}
		params := url.Values{"limit": {fmt.Sprint(limit)}}
		for k, v := range ep.params {
			params[k] = v
		}
		if cursor != "" {
			params.Set("cursor", cursor)
		}
		status, body := e.get(ep.path, params)
		if status != 200 {
			fail(page, "status %d: %v", status, body)
		}
		list, ok := body[ep.items].([]any)
		if !ok {
			fail(page, "no %q list: %v", ep.items, body)
		}
		if len(list) > limit {
			fail(page, "%d items, limit %d", len(list), limit)
		}
		now := ep.members(c)
		var last string
		for _, v := range list {
			k := ep.itemKey(v)
			if p, dup := seen[k]; dup {
				fail(page, "%s shown again (first on page %d)", k, p)
			}
			if !now[k] {
				fail(page, "%s shown, but not in the list when this page was asked (model: %+v)", k, c.byURI[k])
			}
			seen[k] = page
			last = k
		}
		next, _ := body["cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
		c.between(ep, page, last, seen)
		after := ep.members(c)
		for uri := range stable {
			if !after[uri] {
				delete(stable, uri)
			}
		}
	}
	var skipped []string
	for uri := range stable {
		if _, ok := seen[uri]; !ok {
			skipped = append(skipped, uri)
		}
	}
	if len(skipped) > 0 {
		slices.Sort(skipped)
		fail(page, "the last page; %d in the list for the whole walk never shown: %v", len(skipped), skipped)
	}
	if len(seen) == 0 {
		fail(page, "the walk showed nothing")
	}
}

// between changes the catalogue between two pages of ep, the last item
// of the page just shown being last (its key). The first gap does every
// kind of change; later ones one or two at random.
func (c *churn) between(ep listEndpoint, page int, lastKey string, seen map[string]int) {
	// The last item as a track: itself, or a track of the artist shown.
	last := c.byURI[lastKey]
	if ep.artists {
		last = c.pick(func(t *churnTrack) bool { return t.did.String() == lastKey && ep.member(t) })
	}
	kinds := []int{0, 1, 2, 3, 4, 5, 6}
	if page > 0 {
		kinds = []int{c.rng.IntN(7)}
		if c.rng.IntN(2) == 0 {
			kinds = append(kinds, c.rng.IntN(7))
		}
	}
	inList := func(t *churnTrack) bool { return ep.member(t) }
	isSeen := func(t *churnTrack) bool { _, ok := seen[ep.key(t)]; return ok }
	// like is a new track that ep lists half of the time: a copy of one of
	// its members but for the key.
	like := func() *churnTrack {
		n := c.random()
		if m := c.pick(inList); m != nil && c.rng.IntN(2) == 0 {
			n.did, n.name, n.title, n.album, n.genre, n.tags = m.did, m.name, m.title, m.album, m.genre, slices.Clone(m.tags)
		}
		return n
	}
	for _, k := range kinds {
		switch k {
		case 0: // newer than every track; sometimes dated in the future
			n := like()
			n.created = time.Now().Add(-time.Second).Truncate(time.Millisecond)
			if c.rng.IntN(3) == 0 {
				n.created = time.Now().Add(time.Hour).Truncate(time.Millisecond)
			}
			c.put(n, "put newer")
			c.randomPlays(n)
		case 1: // older than every track
			n := like()
			n.created = c.base.Add(-time.Duration(31*24*60+c.rng.IntN(1000)) * time.Minute)
			c.put(n, "put older")
			c.randomPlays(n)
		case 2: // at the last item's sort position: its sort time, and its
			// title for relevance; the new key falls on either side of it
			if last == nil {
				continue
			}
			n := c.random()
			n.did, n.name, n.title, n.album, n.genre, n.tags, n.created = last.did, last.name, last.title, last.album, last.genre, slices.Clone(last.tags), last.created
			if c.rng.IntN(2) == 0 {
				// Another account: for the artist list, a new one of the
				// same name (the same score: only the tie-break orders them).
				n.did = c.account(last.name)
				if !ep.artists {
					n.did = []syntax.DID{artist, bobDID, carolDID}[c.rng.IntN(3)]
				}
				n.name = c.names[n.did]
			}
			c.put(n, "put at the cursor")
			// Trending's position: as many plays in each window.
			if last.dayPlays > 0 {
				c.play(n, 2, last.dayPlays)
			}
			if w := last.weekPlays - last.dayPlays; w > 0 {
				c.play(n, 30, w)
			}
		case 3:
			if t := c.pick(func(t *churnTrack) bool { return isSeen(t) }); t != nil {
				c.delete(t, "delete shown")
			}
		case 4:
			if t := c.pick(func(t *churnTrack) bool { return inList(t) && !isSeen(t) }); t != nil {
				c.delete(t, "delete not yet shown")
				// An artist not yet shown leaves the list with its last track.
				for ep.artists {
					o := c.pick(func(o *churnTrack) bool { return o.did == t.did })
					if o == nil {
						break
					}
					c.delete(o, "delete not yet shown")
				}
			}
		case 5: // a new version: another title of the same words and a
			// word more, so it stays in the list at its sort time
			if t := c.pick(inList); t != nil {
				t.title += " " + churnWords[c.rng.IntN(len(churnWords))]
				c.put(t, "update")
			}
		case 6: // plays in the hour to come: no window holds them, so
			// they move nothing
			if t := c.pick(inList); t != nil {
				c.play(t, -1, 1+c.rng.Int64N(5))
			}
		}
	}
}

// TestChurnModel: the model the paging walks trust agrees with what the
// store and the index hold after a run of changes, so a walk's verdict is
// about paging, not about the model.
func TestChurnModel(t *testing.T) {
	e := newEnv(t)
	c := newChurn(e, 7)
	c.hold = true
	c.held = append(c.held, relay.Event{Kind: relay.IdentityUpdate, DID: artist, Handle: "alice.example.com"})
	for range 40 {
		c.put(c.random(), "start")
	}
	c.flush()
	seen := map[string]int{}
	for i, tr := range c.all[:10] {
		seen[tr.uri()] = i
	}
	for page := range 8 {
		c.between(pagedEndpoints()[0], page, c.all[page].uri(), seen)
	}
	ctx := context.Background()
	var live []string
	for _, tr := range c.all {
		if tr.live {
			live = append(live, tr.uri())
		}
	}
	rows, err := e.store.Feed(ctx, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, r := range rows {
		stored = append(stored, r.URI().String())
	}
	slices.Sort(live)
	slices.Sort(stored)
	if !slices.Equal(live, stored) {
		t.Fatalf("model holds %d live tracks, the store %d:\nmodel %v\nstore %v", len(live), len(stored), live, stored)
	}
	if len(c.log) < 8 {
		t.Errorf("%d changes in 8 gaps", len(c.log))
	}
	for _, ep := range pagedEndpoints()[1:3] {
		_, body := e.get(ep.path, url.Values{"q": {"river"}, "sort": ep.params["sort"], "limit": {"100"}})
		var got []string
		for _, v := range body["tracks"].([]any) {
			got = append(got, v.(map[string]any)["uri"].(string))
		}
		want := []string{}
		for uri := range ep.members(c) {
			want = append(want, uri)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: index answers %d tracks, the model says %d", ep.name, len(got), len(want))
		}
	}
}
