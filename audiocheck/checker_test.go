package audiocheck_test

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/audiocheck"
	"github.com/relaymusic/relay/outbound"
	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// env is a real SQLite store and search index in a temp dir, a real HTTPS
// server on loopback serving what each path is told to, outbound's client
// trusting that server's certificate with private addresses allowed (as
// --allow-private-network does), and a checker on a clock the test moves.
type env struct {
	t       *testing.T
	store   *sqlite.Store
	idx     *search.Index
	srv     *httptest.Server
	checker *audiocheck.Checker
	reg     *prometheus.Registry

	mu       sync.Mutex
	now      time.Time
	handlers map[string]http.HandlerFunc
	reqs     map[string]int
	starts   []time.Time
	n        int
}

func newEnv(t *testing.T, tweak func(*audiocheck.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	idx, err := search.OpenCurrent(t.Context(), filepath.Join(dir, "search.bleve"), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	e := &env{t: t, store: store, idx: idx, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		handlers: map[string]http.HandlerFunc{}, reqs: map[string]int{}, reg: prometheus.NewRegistry()}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		h := e.handlers[r.URL.Path]
		e.reqs[r.URL.Path]++
		e.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(e.srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(e.srv.Certificate())
	client, err := outbound.New(outbound.Options{
		AllowPrivateNetwork: true, RootCAs: pool, Timeout: 5 * time.Second,
		MaxBody: math.MaxInt64, MaxRedirects: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Request starts as the checker makes them (the server sees each later
	// by a connection's setup).
	client.Transport = startsRecorder{client.Transport, e}
	cfg := audiocheck.Config{
		Store: store, Client: client, HostGap: time.Millisecond, Timeout: 2 * time.Second,
		Now: e.clock, Metrics: audiocheck.NewMetrics(e.reg),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e.checker = audiocheck.New(cfg)
	return e
}

type startsRecorder struct {
	rt http.RoundTripper
	e  *env
}

func (s startsRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	s.e.mu.Lock()
	s.e.starts = append(s.e.starts, time.Now())
	s.e.mu.Unlock()
	return s.rt.RoundTrip(r)
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// serve sets what path answers.
func (e *env) serve(path string, h http.HandlerFunc) {
	e.mu.Lock()
	e.handlers[path] = h
	e.mu.Unlock()
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func (e *env) requests(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reqs[path]
}

// track stores a track whose audio is at the server's path (or at url
// itself, when it has a scheme).
func (e *env) track(title, path string) *relay.Track {
	e.t.Helper()
	e.mu.Lock()
	e.n++
	n := e.n
	e.mu.Unlock()
	u := path
	if len(u) > 0 && u[0] == '/' {
		u = e.srv.URL + path
	}
	created := e.now.Add(-time.Hour)
	rec, _ := json.Marshal(map[string]any{"$type": relay.TrackCollection, "title": title, "artist": "Múm",
		"audioUrl": u, "fileType": "mp3", "createdAt": created.Format(time.RFC3339)})
	tr := &relay.Track{
		DID: syntax.DID(fmt.Sprintf("did:plc:audiotest%08d", n)), Collection: relay.TrackCollection,
		RKey: syntax.RecordKey(syntax.NewTID(created.UnixMicro()+int64(n), 0).String()),
		Rev:  syntax.NewTID(created.UnixMicro()+int64(n), 1).String(), CID: "bafyreib" + fmt.Sprint(n),
		Title: title, Artist: "Múm", FileType: "mp3", AudioURL: u, Record: rec, CreatedAt: created,
	}
	if _, err := e.store.ApplyBatch(e.t.Context(), []relay.Event{{Kind: relay.TrackPut, DID: tr.DID, Track: tr}}, 0); err != nil {
		e.t.Fatal(err)
	}
	return tr
}

// pass runs one checker pass and fails on its error.
func (e *env) pass() int {
	e.t.Helper()
	n, _, err := e.checker.Pass(e.t.Context())
	if err != nil {
		e.t.Fatalf("Pass: %v", err)
	}
	return n
}

// shown reports where tr is listed: the discovery feed and search (after
// the index applies the outbox, as serve's follower does).
func (e *env) shown(tr *relay.Track) (inFeed, inSearch bool) {
	e.t.Helper()
	rows, err := e.store.Feed(e.t.Context(), nil, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	inFeed = slices.ContainsFunc(rows, func(r *relay.StoredTrack) bool { return r.URI() == tr.URI() })
	if _, err := e.idx.CatchUp(e.t.Context(), e.store); err != nil {
		e.t.Fatal(err)
	}
	res, err := e.idx.Search(e.t.Context(), search.Query{Text: tr.Title, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	inSearch = slices.Contains(res.URIs, tr.URI().String())
	return inFeed, inSearch
}

func (e *env) wantShown(tr *relay.Track, want bool, when string) {
	e.t.Helper()
	inFeed, inSearch := e.shown(tr)
	if inFeed != want || inSearch != want {
		e.t.Errorf("%s: %q in feed %v, in search %v; want %v", when, tr.Title, inFeed, inSearch, want)
	}
}

func (e *env) audioStatus(tr *relay.Track) relay.AudioStatus {
	e.t.Helper()
	rows, err := e.store.Tracks(e.t.Context(), []syntax.ATURI{tr.URI()})
	if err != nil || len(rows) != 1 {
		e.t.Fatalf("Tracks(%s) = %d rows, %v; a direct lookup must find it", tr.URI(), len(rows), err)
	}
	return rows[0].AudioStatus
}

func (e *env) checks(result string) float64 {
	return testutil.ToFloat64(mustCounter(e.t, e.reg, "relay_audio_checks_total", "result", result))
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name, label, value string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return nil
}

// TestTwo404sMinutesApartHideARecoveryShows is issue 13's resolve
// criterion: a 404 hides the track (two of them, MissGap apart; one hides
// nothing), from the feed and search; a recovery shows it again.
func TestTwo404sMinutesApartHideARecoveryShows(t *testing.T) {
	e := newEnv(t, nil)
	e.serve("/fine.mp3", status(http.StatusOK))
	gone := e.track("vanishing anthem", "/gone.mp3")
	fine := e.track("steady hymn", "/fine.mp3")

	if n := e.pass(); n != 2 {
		t.Fatalf("first pass checked %d tracks, want 2", n)
	}
	e.wantShown(gone, true, "after one 404")
	e.wantShown(fine, true, "after a 200")
	if got := e.audioStatus(fine); got != relay.AudioOK {
		t.Errorf("status after a 200 = %q, want ok", got)
	}

	// Not due before the gap: no request at all.
	e.advance(5 * time.Minute)
	e.pass()
	if n := e.requests("/gone.mp3"); n != 1 {
		t.Errorf("%d requests within the gap, want the first only", n)
	}
	e.wantShown(gone, true, "five minutes after one 404")

	e.advance(5 * time.Minute)
	e.pass()
	if n := e.requests("/gone.mp3"); n != 2 {
		t.Fatalf("%d requests after the gap, want 2", n)
	}
	e.wantShown(gone, false, "after a second 404, ten minutes later")
	e.wantShown(fine, true, "the other track, after the 404s")
	if got := e.audioStatus(gone); got != relay.AudioMissing {
		t.Errorf("status after two 404s = %q, want missing (still found by its uri)", got)
	}

	// The file comes back; the missing track's recheck (within an hour
	// and 10%) finds it.
	e.serve("/gone.mp3", status(http.StatusOK))
	e.advance(66 * time.Minute)
	e.pass()
	e.wantShown(gone, true, "after the audio came back")
	if got := e.audioStatus(gone); got != relay.AudioOK {
		t.Errorf("status after recovery = %q, want ok", got)
	}
	if got := e.checks("missing"); got != 2 {
		t.Errorf("relay_audio_checks_total{result=missing} = %v, want 2", got)
	}
}

// TestNoAnswerHidesNothing: a timeout, a refused connection, 5xx, 429, 403
// and a redirect loop neither hide a track after one 404 (they break the
// run: the next 404 is a first again) nor show a hidden one.
func TestNoAnswerHidesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func(e *env) http.HandlerFunc // nil: the server goes away
	}{
		{"timeout", func(*env) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			}
		}},
		{"connection refused", nil},
		{"503", func(*env) http.HandlerFunc { return status(http.StatusServiceUnavailable) }},
		{"500", func(*env) http.HandlerFunc { return status(http.StatusInternalServerError) }},
		{"429", func(*env) http.HandlerFunc { return status(http.StatusTooManyRequests) }},
		{"403", func(*env) http.HandlerFunc { return status(http.StatusForbidden) }},
		{"redirect loop", func(e *env) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, e.srv.URL+r.URL.Path, http.StatusFound)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *audiocheck.Config) { c.Timeout = 300 * time.Millisecond })
			hidden := e.track("hidden dirge", "/hidden.mp3")
			e.pass() // hidden: a first 404
			e.advance(11 * time.Minute)
			flaky := e.track("flaky lullaby", "/flaky.mp3")
			e.pass() // hidden: a second, hidden; flaky: a first
			e.wantShown(hidden, false, "after two 404s")
			e.wantShown(flaky, true, "after one 404")

			// Both due (hidden's recheck is within an hour and 10%); no answer.
			if tc.h == nil {
				e.srv.Close()
			} else {
				e.serve("/hidden.mp3", tc.h(e))
				e.serve("/flaky.mp3", tc.h(e))
			}
			e.advance(70 * time.Minute)
			if n := e.pass(); n != 2 {
				t.Fatalf("checked %d, want both", n)
			}
			e.wantShown(flaky, true, "after a 404 and then no answer")
			e.wantShown(hidden, false, "a missing track, after no answer")
			if got := e.audioStatus(flaky); got != relay.AudioUnreachable {
				t.Errorf("flaky's status = %q, want unreachable", got)
			}
			if got := e.audioStatus(hidden); got != relay.AudioMissing {
				t.Errorf("hidden's status after no answer = %q, want missing", got)
			}
			if tc.h == nil {
				// The server is gone for good (its port, free again, may
				// be taken by another test's server on a busy machine: the
				// visibility checks above hold either way).
				return
			}
			if got := e.checks("unreachable"); got != 2 {
				t.Errorf("relay_audio_checks_total{result=unreachable} = %v, want 2", got)
			}

			// 404 again: flaky's is a first again (the run was broken).
			e.serve("/hidden.mp3", nil)
			e.serve("/flaky.mp3", nil)
			e.advance(2 * time.Hour)
			e.pass()
			e.wantShown(flaky, true, "a 404 after no answer (a first again)")
			e.wantShown(hidden, false, "a missing track, 404 again")
		})
	}
}

// TestAnswersThatMeanThere: 200, 206, 416, a HEAD declaring a 5 GB file,
// HEAD refused (405, 501) with a ranged GET answering, and one redirect.
func TestAnswersThatMeanThere(t *testing.T) {
	var ranges sync.Map
	rangedGet := func(headStatus int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				w.WriteHeader(headStatus)
				return
			}
			ranges.Store(r.URL.Path, r.Method+" "+r.Header.Get("Range"))
			w.Header().Set("Content-Range", "bytes 0-0/5000000")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte{0xff})
		}
	}
	e := newEnv(t, nil)
	var tracks []*relay.Track
	for _, tc := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{"/200.mp3", status(http.StatusOK)},
		{"/206.mp3", status(http.StatusPartialContent)},
		{"/416.mp3", status(http.StatusRequestedRangeNotSatisfiable)},
		{"/huge.mp3", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5000000000")
			w.WriteHeader(http.StatusOK)
		}},
		{"/head405.mp3", rangedGet(http.StatusMethodNotAllowed)},
		{"/head501.mp3", rangedGet(http.StatusNotImplemented)},
		{"/moved.mp3", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, e.srv.URL+"/200.mp3", http.StatusFound)
		}},
	} {
		e.serve(tc.path, tc.h)
		tracks = append(tracks, e.track("song "+tc.path, tc.path))
	}
	e.pass()
	for _, tr := range tracks {
		if got := e.audioStatus(tr); got != relay.AudioOK {
			t.Errorf("%s: status %q, want ok", tr.AudioURL, got)
		}
	}
	for _, p := range []string{"/head405.mp3", "/head501.mp3"} {
		if got, _ := ranges.Load(p); got != "GET bytes=0-0" {
			t.Errorf("%s: after HEAD was refused the server saw %v, want GET bytes=0-0", p, got)
		}
	}

	// A ranged GET's 404 counts like HEAD's.
	e.serve("/head405gone.mp3", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		http.NotFound(w, r)
	})
	gone := e.track("fallback gone", "/head405gone.mp3")
	e.pass()
	e.advance(10 * time.Minute)
	e.pass()
	if got := e.audioStatus(gone); got != relay.AudioMissing {
		t.Errorf("HEAD 405 then GET 404 twice: status %q, want missing", got)
	}
}

// TestEndlessBodyIsNotRead: a server that ignores the range and streams
// forever gets its answer taken from the status; the checker closes the
// body after a few bytes instead of reading until its timeout.
func TestEndlessBodyIsNotRead(t *testing.T) {
	var written atomic.Int64
	closed := make(chan struct{}, 1)
	e := newEnv(t, func(c *audiocheck.Config) { c.Timeout = 3 * time.Second })
	e.serve("/endless.mp3", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		buf := make([]byte, 32<<10)
		for {
			n, err := w.Write(buf)
			written.Add(int64(n))
			if err != nil {
				closed <- struct{}{}
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	tr := e.track("endless drone", "/endless.mp3")
	start := time.Now()
	e.pass()
	took := time.Since(start)
	if got := e.audioStatus(tr); got != relay.AudioOK {
		t.Fatalf("status %q, want ok (a timeout would say unreachable)", got)
	}
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("the server's endless body was never closed by the client")
	}
	// Generous: the bound is the checker's 3s timeout, which a read to the
	// end would have hit.
	if took > 2*time.Second {
		t.Errorf("the check took %v; reading stopped only at the timeout?", took)
	}
	t.Logf("server wrote %d bytes before the client closed (socket buffers; the checker reads 16)", written.Load())
}

// TestRedirectChainIsBounded: a redirect loop is given up after
// MaxRedirects (3) and is no answer.
func TestRedirectChainIsBounded(t *testing.T) {
	e := newEnv(t, nil)
	e.serve("/loop.mp3", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, e.srv.URL+"/loop.mp3", http.StatusFound)
	})
	tr := e.track("looping round", "/loop.mp3")
	e.pass()
	if n := e.requests("/loop.mp3"); n != 4 {
		t.Errorf("the loop got %d requests, want 4 (the first and 3 redirects)", n)
	}
	if got := e.audioStatus(tr); got != relay.AudioUnreachable {
		t.Errorf("status %q, want unreachable", got)
	}
	e.wantShown(tr, true, "after a redirect loop")
}

// TestPerHostPoliteness: with PerHost 2 and Concurrency 8, no more than
// two requests are ever in flight at the one host, and starts are at least
// HostGap apart.
func TestPerHostPoliteness(t *testing.T) {
	const gap = 15 * time.Millisecond
	var inFlight, most atomic.Int64
	e := newEnv(t, func(c *audiocheck.Config) { c.PerHost, c.Concurrency, c.HostGap = 2, 8, gap })
	e.serve("/slow.mp3", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(40 * time.Millisecond)
		inFlight.Add(-1)
		w.WriteHeader(http.StatusOK)
	})
	for i := range 12 {
		e.track(fmt.Sprintf("slow %d", i), "/slow.mp3")
	}
	if n := e.pass(); n != 12 {
		t.Fatalf("checked %d, want 12", n)
	}
	if m := most.Load(); m != 2 {
		t.Errorf("at most %d requests in flight at one host, want 2 (PerHost, with 12 waiting)", m)
	}
	e.mu.Lock()
	starts := slices.Clone(e.starts)
	e.mu.Unlock()
	if len(starts) != 12 {
		t.Fatalf("%d requests started, want 12", len(starts))
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	// Each start is granted at least gap after the one before; a goroutine
	// scheduled late on a loaded machine can move one request closer to
	// the next, but never the whole run: 12 starts span 11 gaps, less one
	// for that slack.
	if span := starts[len(starts)-1].Sub(starts[0]); span < 10*gap {
		t.Errorf("12 requests to one host started within %v, want at least %v (HostGap %v)", span, 10*gap, gap)
	}
}

// TestReservedNamesAreNotAsked: an audio URL at a documentation name
// (test fixtures' audio.example) is unreachable without a request, and
// hides nothing.
func TestReservedNamesAreNotAsked(t *testing.T) {
	e := newEnv(t, nil)
	tr := e.track("fixture", "https://audio.relay.example/a.mp3")
	e.pass()
	if got := e.audioStatus(tr); got != relay.AudioUnreachable {
		t.Errorf("status %q, want unreachable", got)
	}
	e.mu.Lock()
	n := len(e.starts)
	e.mu.Unlock()
	if n != 0 {
		t.Errorf("%d requests made for a reserved name", n)
	}
	e.wantShown(tr, true, "a reserved name")
}

// TestHostBatchBoundsAPass: one host's due checks beyond HostBatch wait
// for the next pass.
func TestHostBatchBoundsAPass(t *testing.T) {
	e := newEnv(t, func(c *audiocheck.Config) { c.HostBatch = 3 })
	e.serve("/a.mp3", status(http.StatusOK))
	for i := range 5 {
		e.track(fmt.Sprintf("t%d", i), "/a.mp3")
	}
	if n := e.pass(); n != 3 {
		t.Errorf("first pass checked %d, want HostBatch 3", n)
	}
	if n := e.pass(); n != 2 {
		t.Errorf("second pass checked %d, want the 2 left", n)
	}
}

// TestPrunable: the search follower's pruning stops at what the checker
// has read, so a changed audioUrl written meanwhile still reaches it.
func TestPrunable(t *testing.T) {
	e := newEnv(t, nil)
	e.serve("/a.mp3", status(http.StatusOK))
	tr := e.track("held", "/a.mp3")
	e.pass()
	prune := func(seq int64) {
		t.Helper()
		seq, err := e.checker.Prunable(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.PruneOutbox(t.Context(), seq); err != nil {
			t.Fatal(err)
		}
	}
	moved := *tr
	moved.Rev = syntax.NewTID(tr.CreatedAt.UnixMicro()+1e6, 1).String()
	moved.AudioURL = e.srv.URL + "/b.mp3"
	if _, err := e.store.ApplyBatch(t.Context(), []relay.Event{{Kind: relay.TrackPut, DID: moved.DID, Track: &moved}}, 0); err != nil {
		t.Fatal(err)
	}
	head, _ := e.store.OutboxSeq(t.Context())
	prune(head)
	if floor, _ := e.store.OutboxFloor(t.Context()); floor != head {
		t.Fatalf("outbox floor after a held prune = %d, want the unread entry %d kept", floor, head)
	}
	e.pass() // reads it, checks /b.mp3 (404)
	if n := e.requests("/b.mp3"); n != 1 {
		t.Errorf("the changed URL got %d requests, want 1", n)
	}
	prune(head)
	if floor, _ := e.store.OutboxFloor(t.Context()); floor != 0 {
		t.Errorf("outbox floor once read = %d, want empty", floor)
	}
}
