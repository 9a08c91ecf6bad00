package e2e

import (
	"github.com/relaymusic/relay/internal/relaytest"

	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/internal/testnet"
)

const trackNSID = "app.relay.track"

// ---------------------------------------------------------------------------
// relay serve as a process

// relayProc is a running `relay serve` reading the test network's jetstream.
type relayProc struct {
	*relaytest.Proc
	t       testing.TB
	dataDir string
	cursor  int64
}

// nowCursor is a jetstream cursor one second before now, so a relay started
// with it reads from there instead of racing the live tip.
func nowCursor() int64 { return time.Now().Add(-time.Second).UnixMicro() }

// startRelay runs `relay serve` on a free loopback port with a fresh data
// dir, reading the test network's Jetstream from a second ago, and waits
// until /xrpc/_health answers. It is killed in cleanup.
func startRelay(t testing.TB) *relayProc {
	t.Helper()
	return startRelayOn(t, t.TempDir(), nowCursor())
}

// startRelayOn runs `relay serve` on dataDir (possibly used before; the stored
// cursor then wins over cursor).
func startRelayOn(t testing.TB, dataDir string, cursor int64) *relayProc {
	t.Helper()
	p := relaytest.Start(t, relayBin,
		"--data-dir", dataDir,
		"--jetstream-url", tn.JetstreamURL,
		"--jetstream-cursor", strconv.FormatInt(cursor, 10),
		// Through indigo's relay identity events carry no handle: the
		// resolver finds handles, as in production, in the local PLC. The
		// network's .test handles do not resolve back, and its PDS is at
		// loopback.
		"--resolve-handles", "--plc-url", tn.PLCURL, "--trust-declared-handles", "--allow-private-network",
	)
	return &relayProc{Proc: p, t: t, dataDir: dataDir, cursor: cursor}
}

// stop ends relay serve gracefully (SIGTERM) and checks that it exits in time
// and cleanly.
func (p *relayProc) stop() { p.t.Helper(); p.Stop(p.t) }

// crash SIGKILLs relay serve.
func (p *relayProc) crash() { p.t.Helper(); p.Crash(p.t) }

// ---------------------------------------------------------------------------
// typed GETs

type trackView struct {
	URI       string          `json:"uri"`
	CID       string          `json:"cid"`
	DID       string          `json:"did"`
	Handle    string          `json:"handle"`
	Title     string          `json:"title"`
	Artist    string          `json:"artist"`
	Album     string          `json:"album"`
	Genre     string          `json:"genre"`
	Tags      []string        `json:"tags"`
	Duration  *int64          `json:"duration"`
	FileType  string          `json:"fileType"`
	AudioURL  string          `json:"audioUrl"`
	ImageURL  string          `json:"imageUrl"`
	CreatedAt string          `json:"createdAt"`
	IndexedAt string          `json:"indexedAt"`
	Record    json.RawMessage `json:"record"`
}

type feedResponse struct {
	Feed   []trackView `json:"feed"`
	Cursor string      `json:"cursor"`
}

type searchResponse struct {
	Tracks    []trackView `json:"tracks"`
	Cursor    string      `json:"cursor"`
	HitsTotal uint64      `json:"hitsTotal"`
}

// feedPage is one page of getDiscoveryFeed.
func (p *relayProc) feedPage(limit int, cursor string) (feedResponse, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var f feedResponse
	err := p.GetJSON("/xrpc/app.relay.feed.getDiscoveryFeed?"+q.Encode(), &f)
	return f, err
}

// feed is the whole discovery feed, every page, in order.
func (p *relayProc) feed() ([]trackView, error) {
	var all []trackView
	cursor := ""
	for range 1000 {
		page, err := p.feedPage(100, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Feed...)
		if page.Cursor == "" {
			return all, nil
		}
		cursor = page.Cursor
	}
	return nil, fmt.Errorf("feed: more than 1000 pages")
}

// search is the first page of searchTracks (sort "" is the default).
func (p *relayProc) search(q, sort string, limit int) (searchResponse, error) {
	v := url.Values{"q": {q}, "limit": {strconv.Itoa(limit)}}
	if sort != "" {
		v.Set("sort", sort)
	}
	var s searchResponse
	err := p.GetJSON("/xrpc/app.relay.feed.searchTracks?"+v.Encode(), &s)
	return s, err
}

// ---------------------------------------------------------------------------
// conditions on what relay serves

// inFeed reports the view of uri in the feed, if any.
func (p *relayProc) inFeed(uri string) (*trackView, error) {
	views, err := p.feed()
	if err != nil {
		return nil, err
	}
	for i := range views {
		if views[i].URI == uri {
			return &views[i], nil
		}
	}
	return nil, nil
}

// inSearch reports the view of uri among the results of searching q, if any.
func (p *relayProc) inSearch(q, uri string) (*trackView, error) {
	res, err := p.search(q, "", 100)
	if err != nil {
		return nil, err
	}
	for i := range res.Tracks {
		if res.Tracks[i].URI == uri {
			return &res.Tracks[i], nil
		}
	}
	return nil, nil
}

// feedOf is the feed restricted to the given accounts' tracks.
func (p *relayProc) feedOf(dids ...string) ([]trackView, error) {
	views, err := p.feed()
	if err != nil {
		return nil, err
	}
	var out []trackView
	for _, v := range views {
		if slices.Contains(dids, v.DID) {
			out = append(out, v)
		}
	}
	return out, nil
}

// eventually polls cond every 25 ms until it holds, and fails the test with
// cond's last explanation when timeout passes first.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, still not %s: %s", timeout, what, why)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitVisible waits until the track is both in the feed and found by
// searching word, with the wanted title, and returns its feed view.
func waitVisible(t testing.TB, p *relayProc, uri, word, title string, timeout time.Duration) trackView {
	t.Helper()
	var view trackView
	eventually(t, timeout, "visible: "+uri, func() (bool, string) {
		s, err := p.inSearch(word, uri)
		if err != nil {
			return false, err.Error()
		}
		if s == nil {
			return false, "not found by searching " + word
		}
		if s.Title != title {
			return false, fmt.Sprintf("search view title %q, want %q", s.Title, title)
		}
		f, err := p.inFeed(uri)
		if err != nil {
			return false, err.Error()
		}
		if f == nil {
			return false, "not in the feed"
		}
		if f.Title != title {
			return false, fmt.Sprintf("feed view title %q, want %q", f.Title, title)
		}
		view = *f
		return true, ""
	})
	return view
}

// waitHandle waits until the track's feed and search views carry handle
// and returns its feed view. A handle comes from a lookup after the first
// track (identity events through the relay carry none), so it may show a
// little after the track does.
func waitHandle(t testing.TB, p *relayProc, tr created, handle string, timeout time.Duration) trackView {
	t.Helper()
	var view trackView
	eventually(t, timeout, fmt.Sprintf("handle %q on %s", handle, tr.uri), func() (bool, string) {
		f, err := p.inFeed(tr.uri)
		if err != nil || f == nil {
			return false, fmt.Sprintf("feed view %v (%v)", f, err)
		}
		s, err := p.inSearch(tr.word, tr.uri)
		if err != nil || s == nil {
			return false, fmt.Sprintf("search view %v (%v)", s, err)
		}
		if f.Handle != handle || s.Handle != handle {
			return false, fmt.Sprintf("feed handle %q, search handle %q", f.Handle, s.Handle)
		}
		view = *f
		return true, ""
	})
	return view
}

// waitGone waits until the track is in neither the feed nor the results of
// searching any of words.
func waitGone(t testing.TB, p *relayProc, uri string, words []string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "gone: "+uri, func() (bool, string) {
		f, err := p.inFeed(uri)
		if err != nil {
			return false, err.Error()
		}
		if f != nil {
			return false, fmt.Sprintf("still in the feed as %q", f.Title)
		}
		for _, w := range words {
			s, err := p.inSearch(w, uri)
			if err != nil {
				return false, err.Error()
			}
			if s != nil {
				return false, fmt.Sprintf("still found by searching %q (as %q)", w, s.Title)
			}
		}
		return true, ""
	})
}

// ---------------------------------------------------------------------------
// records and accounts

// word is a random lowercase word, distinct enough (12 letters) that neither
// typo tolerance nor prefix matching confuses it with another test's word.
func word() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// track is a valid app.relay.track record.
func track(title string) map[string]any {
	return map[string]any{
		"$type":     trackNSID,
		"title":     title,
		"artist":    "e2e artist",
		"audioUrl":  "https://audio.example/" + url.PathEscape(strings.ReplaceAll(title, " ", "-")) + ".mp3",
		"fileType":  "mp3",
		"duration":  240,
		"createdAt": testnet.Datetime(time.Now()),
	}
}

var noValidate = false

// newAccount creates an account on the test network.
func newAccount(t testing.TB, ctx context.Context, prefix string) *testnet.Account {
	t.Helper()
	a, err := tn.CreateAccount(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// created is a record written to the PDS.
type created struct {
	acct  *testnet.Account
	uri   string
	cid   string
	rkey  string
	title string
	word  string // the title's distinctive word
	at    time.Time
}

// createTrack writes a valid track titled "<word> <extra...>" and returns it.
func createTrack(t testing.TB, ctx context.Context, a *testnet.Account, extra ...string) created {
	t.Helper()
	w := word()
	title := strings.Join(append([]string{w}, extra...), " ")
	uri, cid, err := tn.CreateRecord(ctx, a, trackNSID, track(title), nil)
	if err != nil {
		t.Fatal(err)
	}
	return created{acct: a, uri: uri, cid: cid, rkey: rkeyOf(t, uri), title: title, word: w, at: time.Now()}
}

func rkeyOf(t testing.TB, uri string) string {
	t.Helper()
	u, err := syntax.ParseATURI(uri)
	if err != nil {
		t.Fatalf("parse at-uri %q: %v", uri, err)
	}
	return u.RecordKey().String()
}

// ---------------------------------------------------------------------------
// statistics

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted ds.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}
