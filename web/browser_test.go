package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/plays"
)

// browser is a tab of a fresh headless Chromium (Debian's, which make
// test installs), its own profile in a temp dir, reaching nothing but
// loopback. Every dialog the page opens is recorded and dismissed: a
// test asserts there were none.
type browser struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	dialogs []string
	errors  []string // uncaught exceptions of the page's script
	urls    []string // every URL the page asked for
}

// chromium is the one browser process of this test binary (it takes
// seconds to start); each test gets its own tab in its own browser
// context, so no cookies, storage or cache pass between tests.
var chromium struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	dir    string
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testNetwork != nil {
		_ = testNetwork.Close()
	}
	if chromium.cancel != nil {
		chromium.cancel()
		os.RemoveAll(chromium.dir)
	}
	os.Exit(code)
}

func startChromium() {
	path, err := exec.LookPath("chromium")
	if err != nil {
		chromium.err = fmt.Errorf("chromium is not installed (make test installs it: apt-get install chromium): %w", err)
		return
	}
	if chromium.dir, err = os.MkdirTemp("", "relay-web-chromium-"); err != nil {
		chromium.err = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(chromium.dir),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		// Without these, Chromium dials Google's hosts at start, and this
		// machine's closed network refuses them.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Nothing but loopback resolves, whatever a page names.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		// The loopback media server's certificate is httptest's own.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	chromium.ctx, chromium.cancel = bctx, func() { cancelBrowser(); cancelAlloc() }
	// The first run starts the browser.
	chromium.err = chromedp.Do(bctx)
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	chromium.once.Do(startChromium)
	if chromium.err != nil {
		t.Fatal(chromium.err)
	}
	ctx, cancelTab := chromedp.NewContext(chromium.ctx, chromedp.WithNewBrowserContext())
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab() })
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
		case *runtime.EventExceptionThrown:
			b.errors = append(b.errors, exceptionDescription(ev))
		case *network.EventRequestWillBeSent:
			b.urls = append(b.urls, ev.Request.URL)
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// open navigates to u and answers the response (its headers included).
func (b *browser) open(u string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.t.Fatalf("opening %s: %v", u, err)
	}
	return resp
}

// eval runs expr in the page and decodes its value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("decoding %s: %v (%s)", expr, err, raw)
		}
	}
}

// wait evaluates expr until it is true, up to d. It polls from Go:
// chromedp's Poll builds its predicate with new Function, which the
// page's CSP (no 'unsafe-eval') rightly refuses.
func (b *browser) wait(expr string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		var ok bool
		b.eval("!!("+expr+")", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %v for %s", d, expr)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (b *browser) strings(expr string) []string {
	b.t.Helper()
	var out []string
	b.eval(expr, &out)
	return out
}

// noDialogs checks that no dialog opened and the script threw nothing.
func (b *browser) noDialogs() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		b.t.Errorf("dialogs opened: %q", b.dialogs)
	}
	if len(b.errors) > 0 {
		b.t.Errorf("the script threw: %q", b.errors)
	}
}

func exceptionDescription(ev *runtime.EventExceptionThrown) string {
	if ev.ExceptionDetails == nil || ev.ExceptionDetails.Exception == nil {
		return ""
	}
	return ev.ExceptionDetails.Exception.Description
}

const titlesOf = `(sel) => Array.from(document.querySelectorAll(sel + ' li.track .title')).map(a => a.textContent)`

func listTitles(b *browser, list string) []string {
	return b.strings("(" + titlesOf + ")(" + jsString(list) + ")")
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

func TestBrowserFeed(t *testing.T) {
	e := newEnv(t)
	e.catalogue()
	b := newBrowser(t)
	resp := b.open(e.srv.URL + "/")
	if resp.Status != 200 {
		t.Fatalf("status %d", resp.Status)
	}
	if p, _ := resp.Headers["Content-Security-Policy"].(string); !strings.Contains(p, "script-src 'self'") || strings.Contains(p, "unsafe") {
		t.Errorf("CSP as the browser got it: %q", p)
	}
	got := listTitles(b, "#list")
	want := []string{"northbound", hostile1, hostile2, "harbour lights (demo)", "café au lait", "paper moons", "lowlight", "salt in the wires", "glass harbour"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("feed shows %q, want %q", got, want)
	}
	// durations as m:ss (h:mm:ss past an hour), artwork from https only
	if d := b.strings(`Array.from(document.querySelectorAll('#list .dur')).map(x => x.textContent)`); len(d) == 0 || d[0] != "1:02:05" || d[len(d)-1] != "3:34" {
		t.Errorf("durations %q", d)
	}
	// The trending tab asks getTrending; until that query exists it says so.
	b.do(chromedp.Click(chromedp.CSS(`.tab[data-tab="trending"]`)))
	b.wait(`document.getElementById('list-status').textContent !== 'loading…'`, 10*time.Second)
	if !e.asked("/xrpc/app.relay.feed.getTrending") {
		t.Error("the trending tab did not ask getTrending")
	}
	var status string
	b.eval(`document.getElementById('list-status').textContent`, &status)
	if status != "trending is not available yet" && status != "nothing played in this window yet" && len(listTitles(b, "#list")) == 0 {
		t.Errorf("trending shows %q and no tracks", status)
	}
	b.do(chromedp.Click(chromedp.CSS(`.tab[data-tab="new"]`)))
	b.wait(`document.querySelectorAll('#list li.track').length === 9`, 10*time.Second)
	b.noDialogs()
}

// TestBrowserLoadMore: the feed's further pages come through its cursor,
// appended, none twice.
func TestBrowserLoadMore(t *testing.T) {
	e := newEnv(t)
	var specs []trackSpec
	for i := 0; i < pageSize+5; i++ {
		specs = append(specs, trackSpec{did: nova, title: "track " + itoa(int64(i)), artist: "nova", age: time.Duration(i) * time.Minute})
	}
	e.add(specs...)
	b := newBrowser(t)
	b.open(e.srv.URL + "/")
	if n := len(listTitles(b, "#list")); n != pageSize {
		t.Fatalf("first page has %d tracks", n)
	}
	b.do(chromedp.Click(chromedp.ID("more")))
	b.wait(`document.querySelectorAll('#list li.track').length === `+itoa(pageSize+5), 10*time.Second)
	got := listTitles(b, "#list")
	seen := map[string]bool{}
	for i, title := range got {
		if seen[title] || title != "track "+itoa(int64(i)) {
			t.Fatalf("after load more: %q", got)
		}
		seen[title] = true
	}
	var hidden bool
	b.eval(`document.getElementById('more').hidden`, &hidden)
	if !hidden {
		t.Error("load more still offered after the last page")
	}
}

// TestBrowserSearch: typing narrows the results without Enter, and an
// answer to an older query that comes late is dropped.
func TestBrowserSearch(t *testing.T) {
	e := newEnv(t)
	e.catalogue()
	b := newBrowser(t)
	b.open(e.srv.URL + "/")
	b.do(chromedp.SendKeys(chromedp.ID("q"), "harbour"))
	b.wait(`document.querySelectorAll('#results-list li.track').length === 2`, 10*time.Second)
	if got := listTitles(b, "#results-list"); len(got) != 2 || !contains(got, "glass harbour") || !contains(got, "harbour lights (demo)") {
		t.Errorf("harbour: %q", got)
	}
	var mainHidden bool
	b.eval(`document.getElementById('main').hidden`, &mainHidden)
	if !mainHidden {
		t.Error("the feed is still shown beside the results")
	}
	b.do(chromedp.SendKeys(chromedp.ID("q"), " lights"))
	b.wait(`document.querySelectorAll('#results-list li.track').length === 1`, 10*time.Second)
	if got := listTitles(b, "#results-list"); len(got) != 1 || got[0] != "harbour lights (demo)" {
		t.Errorf("harbour lights: %q", got)
	}
	// Clearing the box brings the feed back.
	b.do(chromedp.SendKeys(chromedp.ID("q"), "\x1b"))
	b.wait(`!document.getElementById('main').hidden && document.getElementById('results').hidden`, 5*time.Second)

	// A slow answer to "harbour" arrives after the answer to "harbour
	// lights": the page keeps showing the newer one.
	b.do(chromedp.SendKeys(chromedp.ID("q"), "\x1b"))
	e.mu.Lock()
	e.slow = func(r *http.Request) time.Duration {
		if r.URL.Path == "/xrpc/app.relay.feed.searchTracks" && r.URL.Query().Get("q") == "harbour" {
			return 1500 * time.Millisecond
		}
		return 0
	}
	e.mu.Unlock()
	b.do(chromedp.SendKeys(chromedp.ID("q"), "harbour"))
	time.Sleep(400 * time.Millisecond) // past the debounce: the slow query is in flight
	b.do(chromedp.SendKeys(chromedp.ID("q"), " lights"))
	b.wait(`document.querySelectorAll('#results-list li.track').length === 1`, 10*time.Second)
	time.Sleep(2 * time.Second) // the slow answer's time has come and gone
	if got := listTitles(b, "#results-list"); len(got) != 1 || got[0] != "harbour lights (demo)" {
		t.Errorf("after a stale answer: %q, want only the newest query's", got)
	}
	b.noDialogs()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// playServed reports whether the appview serves /play (the plays
// endpoint lands separately): 302 for a known track.
func playServed(t *testing.T, e *env, did, rkey string) bool {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.srv.URL + "/play/" + did + "/" + rkey)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusFound
}

// TestBrowserPlayer: play asks /play for the track and shows it; the queue
// plays through in order; add to queue appends; space plays and pauses,
// but not while typing in the search box.
func TestBrowserPlayer(t *testing.T) {
	e := newEnv(t)
	e.handle(nova, "nova.example.com")
	trs := e.add(
		// long enough to still be playing through the keyboard checks
		trackSpec{did: nova, title: "second", artist: "nova", album: "tidelines", image: e.art(1), duration: 90, age: 2 * time.Hour, audio: e.media.URL + "/audio/long.wav"},
		trackSpec{did: nova, title: "first", artist: "nova", album: "tidelines", image: e.art(1), duration: 1, age: time.Hour},
	)
	first, second := trs[1], trs[0]
	b := newBrowser(t)
	b.open(e.srv.URL + "/")
	b.do(chromedp.Click(chromedp.CSS(`#list li.track:first-child .i-play`)))
	playPath := "/play/" + first.DID.String() + "/" + first.RKey.String()
	deadline := time.Now().Add(10 * time.Second)
	for !e.asked(playPath) {
		if time.Now().After(deadline) {
			t.Fatalf("clicking play did not request %s", playPath)
		}
		time.Sleep(25 * time.Millisecond)
	}
	var shown struct{ Title, Artist, Album, Art string }
	b.eval(`({Title: document.getElementById('p-title').textContent, Artist: document.getElementById('p-artist').textContent,
		Album: document.getElementById('p-album').textContent, Art: document.getElementById('p-art').getAttribute('src')})`, &shown)
	if shown.Title != "first" || shown.Artist != "nova" || shown.Album != " · tidelines" || shown.Art != e.art(1) {
		t.Errorf("player shows %+v", shown)
	}
	// Add the first track again at the end of the queue.
	b.do(chromedp.Click(chromedp.CSS(`#list li.track:first-child .i-add`)))
	if q := b.strings(`Array.from(document.querySelectorAll('#p-queue .q-title')).map(x => x.textContent)`); strings.Join(q, ",") != "first,second,first" {
		t.Errorf("queue %q", q)
	}
	if !playServed(t, e, first.DID.String(), first.RKey.String()) {
		t.Fatal("/play does not answer 302 for a playable track")
	}
	// A second of audio, then the next in the queue.
	secondPath := "/play/" + second.DID.String() + "/" + second.RKey.String()
	deadline = time.Now().Add(15 * time.Second)
	for !e.asked(secondPath) {
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not go on to %s", secondPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.wait(`!document.getElementById('audio').paused`, 10*time.Second)
	b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent(" "))
	b.wait(`document.getElementById('audio').paused`, 5*time.Second)
	b.do(chromedp.KeyEvent(" "))
	b.wait(`!document.getElementById('audio').paused`, 5*time.Second)
	// In the search box a space is a space.
	b.do(chromedp.Focus(chromedp.ID("q")), chromedp.KeyEvent("a b"))
	var after struct {
		Paused bool
		Q      string
	}
	b.eval(`({Paused: document.getElementById('audio').paused, Q: document.getElementById('q').value})`, &after)
	if after.Paused || after.Q != "a b" {
		t.Errorf("typing in search: %+v", after)
	}
	// The playing row's own button pauses rather than starting again
	// (the search for "a b" cleared first, to show the feed again).
	b.do(chromedp.SendKeys(chromedp.ID("q"), "\x1b"))
	b.wait(`!document.getElementById('main').hidden`, 5*time.Second)
	b.do(chromedp.Click(chromedp.CSS(`#list li.track.playing .i-pause`)))
	b.wait(`document.getElementById('audio').paused && document.querySelector('#list li.track.playing .i-play')`, 5*time.Second)
	b.noDialogs()
}

// TestBrowserPhone: no page scrolls sideways on a 390 px screen, hostile
// and long titles included.
func TestBrowserPhone(t *testing.T) {
	e := newEnv(t)
	e.catalogue()
	long := strings.Repeat("averyveryverylongwordwithoutanyspaces", 8)
	tr := e.add(trackSpec{did: nova, title: long, artist: long, album: long, image: e.art(1), duration: 100})[0]
	b := newBrowser(t)
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, p := range []string{"/", "/artist/nova.example.com", "/artist/" + mallory.String(), "/track/" + tr.DID.String() + "/" + tr.RKey.String(), "/nope"} {
		b.open(e.srv.URL + p)
		// with the player open too
		b.eval(`(() => { const b = document.querySelector('li.track .i-add'); if (b) b.click(); return 1; })()`, nil)
		var width int
		b.eval(`document.documentElement.scrollWidth`, &width)
		if width > 390 {
			t.Errorf("%s: scrollWidth %d at 390 px", p, width)
		}
	}
	b.noDialogs()
}

// TestBrowserHostile: titles that are markup render as text, no script of
// theirs runs, no dialog opens, and a javascript: or foreign http URL
// never reaches a src or an href, on server-rendered pages and on results
// the script renders.
func TestBrowserHostile(t *testing.T) {
	e := newEnv(t)
	e.catalogue()
	b := newBrowser(t)
	check := func(where string) {
		t.Helper()
		var bad []string
		b.eval(`(() => {
			const out = [];
			for (const el of document.querySelectorAll('[src], [href], [data-image]')) {
				for (const a of ['src', 'href', 'data-image']) {
					const v = el.getAttribute(a);
					if (v === null || v === '') continue;
					const u = new URL(v, location.href);
					if (u.protocol !== 'https:' && u.origin !== location.origin) out.push(el.tagName + ' ' + a + '=' + v);
				}
			}
			for (const s of document.scripts) if (s.src !== new URL(s.getAttribute('src') || '', location.href).href || !s.getAttribute('src')) out.push('inline script');
			if (document.querySelector('img[src="x"]')) out.push('img from a title');
			return out;
		})()`, &bad)
		if len(bad) > 0 {
			t.Errorf("%s: %q", where, bad)
		}
		if n := b.strings(`Array.from(document.scripts).map(s => s.getAttribute('src'))`); len(n) != 1 {
			t.Errorf("%s: scripts %q", where, n)
		}
	}
	b.open(e.srv.URL + "/")
	if got := listTitles(b, "#list"); !contains(got, hostile1) || !contains(got, hostile2) {
		t.Errorf("hostile titles not shown as text: %q", got)
	}
	check("feed")
	b.open(e.srv.URL + "/artist/" + mallory.String())
	if got := b.strings(`Array.from(document.querySelectorAll('.album-head span, .track .artist')).map(x => x.textContent)`); !contains(got, hostile1) || !contains(got, hostile2) {
		t.Errorf("artist page: %q", got)
	}
	check("artist page")
	for _, tr := range e.hostile {
		b.open(e.srv.URL + "/track/" + tr.DID.String() + "/" + tr.RKey.String())
		var h1 string
		b.eval(`document.querySelector('h1.name').textContent`, &h1)
		if h1 != tr.Title {
			t.Errorf("track page title %q, want %q", h1, tr.Title)
		}
		check("track page of " + tr.Title)
	}
	// Results the script renders from JSON, whose imageUrl and audioUrl are
	// the stored ones.
	b.open(e.srv.URL + "/")
	b.do(chromedp.SendKeys(chromedp.ID("q"), "alert"))
	b.wait(`document.querySelectorAll('#results-list li.track').length === 2`, 10*time.Second)
	if got := listTitles(b, "#results-list"); !contains(got, hostile1) || !contains(got, hostile2) {
		t.Errorf("search results: %q", got)
	}
	var playable int
	b.eval(`document.querySelectorAll('#results-list .i-play').length`, &playable)
	if playable != 0 {
		t.Errorf("%d hostile tracks offered to play", playable)
	}
	check("search results")
	b.noDialogs()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.urls {
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "javascript" || p.Host == "127.0.0.1:9" || p.Path == "/x" {
			t.Errorf("the page asked for %q", u)
		}
	}
}

// TestBrowserTrending: the trending tab lists what was played, through
// getTrending, per window: a listen through the player (two hours ago by
// the counter's clock) and older plays written to the store.
func TestBrowserTrending(t *testing.T) {
	e := newEnv(t)
	e.catalogue()
	old := listTracks(t, e, "paper moons")
	open := plays.OpenHour(time.Now())
	if err := e.store.AddPlays(context.Background(), []relay.PlayCount{{DID: old.DID, Collection: old.Collection, RKey: old.RKey, Hour: open - 100, N: 3}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.open(e.srv.URL + "/")
	// One listen of "glass harbour", through the player: the last of the
	// list, so the queue stops after it (its audio is a second long). No
	// trending query comes before it: closed hours never change, so the
	// rankings of closed hours may be kept, and the counter's clock puts
	// this listen in one (TestBrowserFeed shows the empty tab).
	b.do(chromedp.Click(chromedp.JSPath(`Array.from(document.querySelectorAll('#list li.track')).find(li => li.dataset.title === 'glass harbour').querySelector('.i-play')`)))
	deadline := time.Now().Add(10 * time.Second)
	played := listTracks(t, e, "glass harbour")
	for !e.asked("/play/" + played.DID.String() + "/" + played.RKey.String()) {
		if time.Now().After(deadline) {
			t.Fatal("play did not reach /play")
		}
		time.Sleep(25 * time.Millisecond)
	}
	// The request reached the server before its play was counted: flush
	// until the count is in the store.
	deadline = time.Now().Add(10 * time.Second)
	for {
		if err := e.plays.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(e.srv.URL + "/xrpc/app.relay.feed.getTrending?window=day")
		if err != nil {
			t.Fatal(err)
		}
		var day struct{ Feed []json.RawMessage }
		err = json.NewDecoder(resp.Body).Decode(&day)
		resp.Body.Close()
		if err == nil && len(day.Feed) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listen never reached trending (%v, %d tracks)", err, len(day.Feed))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range []struct {
		name string
		want []string
	}{
		{"day", []string{"glass harbour"}},
		{"week", []string{"paper moons", "glass harbour"}},
		{"month", []string{"paper moons", "glass harbour"}},
	} {
		b.do(chromedp.Click(chromedp.CSS(`.tab[data-tab="trending"]`)), chromedp.Click(chromedp.CSS(`.win[data-window="`+w.name+`"]`)))
		b.wait(`document.querySelectorAll('#list li.track').length === `+itoa(int64(len(w.want))), 10*time.Second)
		if got := listTitles(b, "#list"); strings.Join(got, "|") != strings.Join(w.want, "|") {
			t.Errorf("trending this %s: %q, want %q", w.name, got, w.want)
		}
	}
	b.noDialogs()
}

// listTracks finds a catalogue track by title, through the store.
func listTracks(t *testing.T, e *env, title string) *relay.StoredTrack {
	t.Helper()
	rows, err := e.store.Feed(context.Background(), nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Title == title {
			return r
		}
	}
	t.Fatalf("no track %q", title)
	return nil
}
