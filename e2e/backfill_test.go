package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymusic/relay/internal/relaytest"
	"github.com/relaymusic/relay/internal/testnet"
)

// The default source of `relay backfill` is the network relay host's
// com.atproto.sync.listReposByCollection, which the public relay answers
// from indigo's collection directory. These tests point relay backfill at
// the test network's real collection directory (fed by the real relay, fed
// by the PDS), through a loopback proxy that only shrinks its pages (so that
// a handful of repos takes several cursors) and counts them.

// dirListing is every DID the collection directory lists for tracks, paged
// with limit per page.
func dirListing(t testing.TB, ctx context.Context, limit int) []string {
	t.Helper()
	var dids []string
	cursor := ""
	for range 10_000 {
		q := url.Values{"collection": {trackNSID}, "limit": {strconv.Itoa(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var out struct {
			Repos []struct {
				DID string `json:"did"`
			} `json:"repos"`
			Cursor string `json:"cursor"`
		}
		if err := getJSON(ctx, tn.CollectionDirURL+"/xrpc/com.atproto.sync.listReposByCollection?"+q.Encode(), &out); err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Repos {
			dids = append(dids, r.DID)
		}
		if out.Cursor == "" || len(out.Repos) == 0 {
			return dids
		}
		cursor = out.Cursor
	}
	t.Fatal("collection directory listing never ended")
	return nil
}

func getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// waitListed waits until the collection directory lists every one of dids.
func waitListed(t testing.TB, ctx context.Context, dids ...string) []string {
	t.Helper()
	var all []string
	eventually(t, 60*time.Second, "listed by the collection directory", func() (bool, string) {
		all = dirListing(t, ctx, 10_000)
		for _, d := range dids {
			if !slices.Contains(all, d) {
				return false, d + " not listed"
			}
		}
		return true, ""
	})
	return all
}

// pager is a loopback proxy in front of the collection directory that sets
// the page size of listReposByCollection and records what each page carried.
type pager struct {
	srv   *httptest.Server
	limit int
	// before, if set, runs before page number n (1-based) is forwarded.
	before func(n int)

	mu      sync.Mutex
	pages   int
	cursors []string // the cursor each request carried
	answers []string // the cursor each answer gave ("" for the last page)
	listed  []string // DIDs in the answers, in order
	failed  int      // requests the directory did not answer with 200
}

func newPager(t testing.TB, limit int) *pager {
	t.Helper()
	target, err := url.Parse(tn.CollectionDirURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &pager{limit: limit}
	rp := httputil.NewSingleHostReverseProxy(target)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		q := r.URL.Query()
		q.Set("limit", strconv.Itoa(p.limit))
		r.URL.RawQuery = q.Encode()
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		p.mu.Lock()
		defer p.mu.Unlock()
		if resp.StatusCode != http.StatusOK {
			p.failed++
			return nil
		}
		var out struct {
			Repos []struct {
				DID string `json:"did"`
			} `json:"repos"`
			Cursor string `json:"cursor"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return err
		}
		for _, r := range out.Repos {
			p.listed = append(p.listed, r.DID)
		}
		p.answers = append(p.answers, out.Cursor)
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		p.mu.Lock()
		p.failed++
		p.mu.Unlock()
		http.Error(w, "directory down: "+err.Error(), http.StatusBadGateway)
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/xrpc/com.atproto.sync.listReposByCollection" || r.URL.Query().Get("collection") != trackNSID {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.pages++
		n := p.pages
		p.cursors = append(p.cursors, r.URL.Query().Get("cursor"))
		before := p.before
		p.mu.Unlock()
		if before != nil {
			before(n)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// backfillResult is what one `relay backfill` run logged.
type backfillResult struct {
	out          []byte
	done, listed int
	// exhausted: repos left failing (the directory lists every account that
	// ever wrote a track, also those deleted or taken down since).
	exhausted          int
	exhaustedDIDs      []string
	listingFailedLines int
}

// handled is the repos the run finished with, fetched or given up on.
func (r backfillResult) handled() int { return r.done + r.exhausted }

// runBackfillFrom runs `relay backfill` with the relay source at url (the
// default source: no --pds, no --did) into dataDir.
func runBackfillFrom(t testing.TB, ctx context.Context, src, dataDir string) backfillResult {
	t.Helper()
	args := []string{"--log-format", "json", "backfill", "--data-dir", dataDir,
		"--atproto-relay", src, "--plc-url", tn.PLCURL, "--retry-base", "100ms", "--trust-declared-handles"}
	if backfillAllowsPrivate() {
		args = append(args, "--allow-private-network")
	}
	out, err := exec.CommandContext(ctx, relayBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("relay backfill: %v\n%s", err, out)
	}
	res := backfillResult{out: out, done: -1, listed: -1}
	for line := range bytes.SplitSeq(out, []byte("\n")) {
		var l struct {
			Msg    string `json:"msg"`
			Level  string `json:"level"`
			Done   *int   `json:"repos_done"`
			Listed *int   `json:"repos"`
			DID    string `json:"did"`
		}
		if json.Unmarshal(line, &l) != nil {
			continue
		}
		switch {
		case l.Msg == "backfill finished" && l.Done != nil:
			res.done = *l.Done
		case l.Msg == "backfill: listed repos" && l.Listed != nil:
			res.listed = *l.Listed
		case l.Msg == "backfill: repo still failing":
			res.exhausted++
			res.exhaustedDIDs = append(res.exhaustedDIDs, l.DID)
		case strings.Contains(l.Msg, "listing repos failed") && l.Level == "ERROR":
			res.listingFailedLines++
		}
	}
	if res.done < 0 {
		t.Fatalf("relay backfill logged no \"backfill finished\" line:\n%s", out)
	}
	return res
}

var allowsPrivate = sync.OnceValue(func() bool {
	out, _ := exec.Command(relayBin, "backfill", "--help").CombinedOutput()
	return bytes.Contains(out, []byte("allow-private-network"))
})

// backfillAllowsPrivate: loopback sources may need the flag that lets
// relay backfill talk to private addresses, once it exists.
func backfillAllowsPrivate() bool { return allowsPrivate() }

// startRelayNoStream runs relay serve on dataDir with a Jetstream URL that
// refuses connections, so that only backfill can bring tracks in.
func startRelayNoStream(t testing.TB, dataDir string) *relayProc {
	t.Helper()
	p := relaytest.Start(t, relayBin, "--data-dir", dataDir,
		"--jetstream-url", "ws://127.0.0.1:1/subscribe", "--index-poll", "200ms")
	return &relayProc{Proc: p, t: t, dataDir: dataDir}
}

// TestBackfillFromCollectionDir: relay backfill with the default source,
// pointed at the real collection directory, finds exactly the accounts with
// tracks, pages through listReposByCollection with its cursor, and indexes
// them; an account whose first track comes after the directory's bootstrap
// is found by a second run.
func TestBackfillFromCollectionDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var withTracks []string
	var tracks []created
	for range 3 {
		a := newAccount(t, ctx, "dirfill")
		withTracks = append(withTracks, a.DID)
		for i := range 2 {
			tracks = append(tracks, createTrack(t, ctx, a, "dirfill", strconv.Itoa(i)))
		}
	}
	// Accounts without tracks: one with a record of another collection, one
	// with nothing at all.
	poster := newAccount(t, ctx, "dirpost")
	if _, _, err := tn.CreateRecord(ctx, poster, "app.bsky.feed.post", map[string]any{
		"$type": "app.bsky.feed.post", "text": "no tracks here", "createdAt": testnet.Datetime(time.Now()),
	}, nil); err != nil {
		t.Fatal(err)
	}
	idle := newAccount(t, ctx, "diridle")
	without := []string{poster.DID, idle.DID}

	// The operator of a new directory bootstraps it from the PDS; it also
	// follows the relay.
	if err := tn.BootstrapCollectionDir(ctx); err != nil {
		t.Fatal(err)
	}
	all := waitListed(t, ctx, withTracks...)
	for _, d := range without {
		if slices.Contains(all, d) {
			t.Errorf("the directory lists %s, which has no tracks", d)
		}
	}
	// Its cursor pages: small pages give the same listing as one big one.
	if paged := dirListing(t, ctx, 2); !slices.Equal(paged, all) {
		t.Errorf("listing in pages of 2 = %d repos, in one page = %d", len(paged), len(all))
	}

	pg := newPager(t, 2)
	dataDir := t.TempDir()
	res := runBackfillFrom(t, ctx, pg.srv.URL, dataDir)
	t.Logf("first run: listed %d, done %d, left failing %d, %d pages", res.listed, res.done, res.exhausted, pg.pages)
	pg.mu.Lock()
	if want := (len(all) + 1) / 2; pg.pages < want {
		t.Errorf("backfill asked for %d pages of 2, want at least %d for %d repos", pg.pages, want, len(all))
	}
	// Each request after the first carries the cursor of the answer before.
	for i := 1; i < len(pg.cursors); i++ {
		if pg.cursors[i] == "" || pg.cursors[i] != pg.answers[i-1] {
			t.Errorf("page %d asked with cursor %q, the previous answer gave %q", i+1, pg.cursors[i], pg.answers[i-1])
		}
	}
	if !slices.Equal(pg.listed, all) {
		t.Errorf("backfill was given %d repos, the directory lists %d", len(pg.listed), len(all))
	}
	pg.mu.Unlock()
	if res.listed != len(all) || res.handled() != len(all) {
		t.Errorf("backfill listed %d and did %d (+%d left failing) repos, want %d (the directory's listing)",
			res.listed, res.done, res.exhausted, len(all))
	}

	relay := startRelayNoStream(t, dataDir)
	for _, c := range tracks {
		waitVisible(t, relay, c.uri, c.word, c.title, 60*time.Second)
	}
	for _, d := range without {
		if got, err := relay.feedOf(d); err != nil || len(got) != 0 {
			t.Errorf("tracks of %s, which has none: %v (%v)", d, got, err)
		}
	}
	relay.stop()

	// After the bootstrap: an account publishes its first track; the
	// directory learns it from the relay, and a second run finds it (and
	// does nothing again that the first did).
	late := newAccount(t, ctx, "dirlate")
	lateTrack := createTrack(t, ctx, late, "dirfill", "late")
	waitListed(t, ctx, late.DID)
	res2 := runBackfillFrom(t, ctx, pg.srv.URL, dataDir)
	if res2.done != 1 {
		t.Errorf("second run did %d repos, want 1 (the new account)\n%s", res2.done, res2.out)
	}
	relay = startRelayNoStream(t, dataDir)
	waitVisible(t, relay, lateTrack.uri, lateTrack.word, lateTrack.title, 60*time.Second)
}

// TestBackfillDirectoryDown: the collection directory going down in the
// middle of a listing is reported, what was done is kept, and a later run
// finishes from the saved cursor; with the relay down, the directory still
// answers with what it knows, and accounts it missed meanwhile are found
// by a run after the relay is back.
func TestBackfillDirectoryDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		// Leave the shared network as found.
		if !tn.RelayRunning() {
			if err := tn.StartRelay(context.Background()); err != nil {
				t.Errorf("restart relay: %v", err)
			}
		}
		if !tn.JetstreamRunning() {
			if err := tn.StartJetstream(context.Background()); err != nil {
				t.Errorf("restart jetstream: %v", err)
			}
		}
		if err := tn.StartCollectionDir(context.Background()); err != nil && !strings.Contains(err.Error(), "already running") {
			t.Errorf("restart collection directory: %v", err)
		}
	})

	var tracks []created
	var dids []string
	for range 4 {
		a := newAccount(t, ctx, "dirdown")
		dids = append(dids, a.DID)
		tracks = append(tracks, createTrack(t, ctx, a, "dirdown"))
	}
	all := waitListed(t, ctx, dids...)
	if len(all) < 4 {
		t.Fatalf("only %d repos listed; the test needs at least 4 pages of 1", len(all))
	}

	// 1. The directory stops after two pages of one repo.
	pg := newPager(t, 1)
	pg.before = func(n int) {
		if n == 3 {
			if err := tn.StopCollectionDir(); err != nil {
				t.Error(err)
			}
		}
	}
	dataDir := t.TempDir()
	res := runBackfillFrom(t, ctx, pg.srv.URL, dataDir)
	if res.listingFailedLines != 1 {
		t.Errorf("the run logged %d listing failures, want 1:\n%s", res.listingFailedLines, res.out)
	}
	if res.handled() != 2 {
		t.Errorf("the run did %d (+%d left failing) repos, want the 2 it was given before the directory went down", res.done, res.exhausted)
	}
	pg.mu.Lock()
	if pg.failed == 0 {
		t.Error("no request failed: the directory was not down")
	}
	pg.mu.Unlock()

	// 2. Back up: the next run continues from the saved cursor (it does not
	// ask for the first page again) and finishes.
	if err := tn.StartCollectionDir(ctx); err != nil {
		t.Fatal(err)
	}
	pg.mu.Lock()
	pg.before = nil
	before := len(pg.cursors)
	pg.mu.Unlock()
	res2 := runBackfillFrom(t, ctx, pg.srv.URL, dataDir)
	pg.mu.Lock()
	if first := pg.cursors[before]; first == "" {
		t.Error("the second run started the listing again from the beginning")
	}
	pg.mu.Unlock()
	// The end report lists every repo left failing so far, so count those
	// once across both runs.
	failing := slices.Compact(slices.Sorted(slices.Values(append(res.exhaustedDIDs, res2.exhaustedDIDs...))))
	if res2.listingFailedLines != 0 || res.done+res2.done+len(failing) != len(all) {
		t.Errorf("runs did %d + %d repos, %d left failing (listing failures logged: %d), want %d in all:\n%s",
			res.done, res2.done, len(failing), res2.listingFailedLines, len(all), res2.out)
	}
	relay := startRelayNoStream(t, dataDir)
	for _, c := range tracks {
		waitVisible(t, relay, c.uri, c.word, c.title, 60*time.Second)
	}
	relay.stop()

	// 3. The relay down: the PDS takes a first track the directory cannot
	// hear of; a run meanwhile succeeds with what the directory knows.
	if err := tn.StopRelay(); err != nil {
		t.Fatal(err)
	}
	a := newAccount(t, ctx, "dirdown")
	missed := createTrack(t, ctx, a, "dirdown", "missed")
	res3 := runBackfillFrom(t, ctx, pg.srv.URL, dataDir)
	if res3.listingFailedLines != 0 || res3.done != 0 {
		t.Errorf("run with the relay down did %d repos, logged %d listing failures; want 0 and 0:\n%s",
			res3.done, res3.listingFailedLines, res3.out)
	}
	if got := dirListing(t, ctx, 10_000); slices.Contains(got, a.DID) {
		t.Fatal("the directory lists an account whose track came while the relay was down")
	}
	// The relay back: it resumes the PDS at its cursor, the directory
	// resumes the relay, and the next run finds the account.
	if err := tn.StartRelay(ctx); err != nil {
		t.Fatal(err)
	}
	waitListed(t, ctx, a.DID)
	res4 := runBackfillFrom(t, ctx, pg.srv.URL, dataDir)
	if res4.done != 1 {
		t.Errorf("run after the relay came back did %d repos, want 1:\n%s", res4.done, res4.out)
	}
	relay = startRelayNoStream(t, dataDir)
	waitVisible(t, relay, missed.uri, missed.word, missed.title, 60*time.Second)
}
