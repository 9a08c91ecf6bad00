package demo_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/internal/demo"
	"github.com/relaymusic/relay/internal/relaytest"
	"github.com/relaymusic/relay/storage"
)

func newMedia(dir, publicURL string) (demo.Media, error) { return storage.NewLocal(dir, publicURL) }

// addPlays is cmd/relay-demo's: the data dir's store opened beside relay serve.
func addPlays(dataDir string) func(context.Context, []relay.PlayCount) error {
	return func(ctx context.Context, counts []relay.PlayCount) error {
		dd, err := datadir.Open(ctx, dataDir)
		if err != nil {
			return err
		}
		defer dd.Close()
		return dd.Store.AddPlays(ctx, counts)
	}
}

// TestDemo runs the whole bring-up of make demo on a random port and
// checks, through relay serve's HTTP API, what a newcomer would see.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up the local network and relay serve (about 15 s warm)")
	}
	bin, err := relaytest.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	t0 := time.Now()
	d, err := demo.Start(ctx, demo.Config{
		RelayBin: bin,
		DataDir:  filepath.Join(dir, "data"),
		Listen:   "127.0.0.1:0",
		NewMedia: newMedia,
		AddPlays: addPlays(filepath.Join(dir, "data")),
		Log:      tWriter{t},
	})
	if err != nil {
		t.Fatalf("demo.Start: %v", err)
	}
	t.Logf("demo up in %s at %s", time.Since(t0).Round(time.Millisecond), d.URL)
	closed := false
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("relay serve log:\n%s", tail(d.RelayLog))
		}
		if !closed {
			d.Close()
		}
	})

	if n := len(d.Tracks); n < 18 || n > 24 {
		t.Errorf("%d tracks in the catalogue, want about 20", n)
	}
	if n := len(d.Artists); n < 4 || n > 6 {
		t.Errorf("%d artists, want 4 to 6", n)
	}

	t.Run("feed", func(t *testing.T) {
		feed, err := d.Feed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byURI := map[string]demo.TrackView{}
		for _, v := range feed {
			byURI[v.URI] = v
		}
		for _, tr := range d.Tracks {
			v, ok := byURI[tr.URI]
			switch {
			case !ok:
				t.Errorf("%s (%s) not in the discovery feed", tr.Title, tr.URI)
			case v.Title != tr.Title || v.Artist != tr.Artist || v.Album != tr.Album || v.Genre != tr.Genre:
				t.Errorf("feed has %q by %q on %q (%s), want %q by %q on %q (%s)",
					v.Title, v.Artist, v.Album, v.Genre, tr.Title, tr.Artist, tr.Album, tr.Genre)
			case v.AudioURL != tr.AudioURL || v.ImageURL != tr.ImageURL:
				t.Errorf("%s: media %s %s, want %s %s", tr.Title, v.AudioURL, v.ImageURL, tr.AudioURL, tr.ImageURL)
			}
			if tr.Featured != "" && (len(v.FeaturedArtists) != 1 || v.FeaturedArtists[0].Handle != tr.Featured) {
				t.Errorf("%s: featuredArtists %+v, want %s", tr.Title, v.FeaturedArtists, tr.Featured)
			}
		}
	})

	// Accents fold both ways: a plain query finds the accented title.
	t.Run("search", func(t *testing.T) {
		for _, c := range []struct{ q, want string }{
			{"bjork", "Björk och Tall"},
			{"cafe noir", "Café Noir"},
			{"sao paulo", "São Paulo à Noite"},
			{"creme brulee", "Crème Brûlée"},
			{"smorgasbord", "Smörgåsbord"},
		} {
			var s demo.SearchResponse
			if err := d.GetJSON(ctx, "/xrpc/app.relay.feed.searchTracks?q="+url.QueryEscape(c.q), &s); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, v := range s.Tracks {
				found = found || v.Title == c.want
			}
			if !found {
				t.Errorf("searchTracks %q: %d hits, none %q", c.q, len(s.Tracks), c.want)
			}
		}
	})

	t.Run("artists", func(t *testing.T) {
		for _, a := range d.Artists {
			want := 0
			for _, tr := range d.Tracks {
				if tr.Artist == a.Name {
					want++
				}
			}
			var v struct {
				DID        string `json:"did"`
				Handle     string `json:"handle"`
				TrackCount int    `json:"trackCount"`
				Albums     []struct {
					Name       string `json:"name"`
					TrackCount int    `json:"trackCount"`
				} `json:"albums"`
			}
			if err := d.GetJSON(ctx, "/xrpc/app.relay.actor.getArtist?actor="+url.QueryEscape(a.Handle), &v); err != nil {
				t.Fatal(err)
			}
			if v.DID != a.DID || v.Handle != a.Handle || v.TrackCount != want {
				t.Errorf("getArtist %s: %s %s %d tracks, want %s %s %d", a.Handle, v.DID, v.Handle, v.TrackCount, a.DID, a.Handle, want)
			}
		}
	})

	t.Run("media", func(t *testing.T) {
		for i, tr := range d.Tracks {
			body := fetch(t, tr.AudioURL, "audio/wav")
			// The key is the content's sha256, so a wrong file cannot pass.
			sum := sha256.Sum256(body)
			if got := strings.TrimSuffix(path.Base(tr.AudioURL), ".wav"); got != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: audio body hashes to %x, url names %s", tr.Title, sum, got)
			}
			if !bytes.HasPrefix(body, []byte("RIFF")) || !bytes.Equal(body[8:12], []byte("WAVE")) {
				t.Errorf("%s: audio is not a WAV file", tr.Title)
			}
			if i < 3 { // the covers repeat per album
				img, err := png.Decode(bytes.NewReader(fetch(t, tr.ImageURL, "image/png")))
				if err != nil {
					t.Errorf("%s: cover: %v", tr.Title, err)
				} else if img.Bounds().Dx() < 64 {
					t.Errorf("%s: cover is %v", tr.Title, img.Bounds())
				}
			}
		}
	})

	t.Run("hostile", func(t *testing.T) {
		feed, err := d.Feed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byURI := map[string]demo.TrackView{}
		for _, v := range feed {
			byURI[v.URI] = v
		}
		counts, err := d.Rejected(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range d.Hostile {
			v, in := byURI[h.URI]
			if h.Reason != "" {
				if in {
					t.Errorf("%s: in the feed, want rejected as %s", h.What, h.Reason)
				}
				if counts[h.Reason] < 1 {
					t.Errorf("%s: relay_ingest_rejected_total{reason=%q} = %v", h.What, h.Reason, counts[h.Reason])
				}
				continue
			}
			if !in {
				t.Errorf("%s: not in the feed", h.What)
				continue
			}
			// Plain data: the JSON string decodes to exactly what was written.
			if v.Title != h.Title {
				t.Errorf("%s: title came back as %q, want %q", h.What, v.Title, h.Title)
			}
			// And in the bytes served: JSON, with no markup a browser that
			// sniffed it could run.
			raw := fetch(t, d.URL+"/xrpc/app.relay.feed.getTracks?uris="+url.QueryEscape(h.URI), "application/json; charset=utf-8")
			if bytes.ContainsAny(raw, "<>") {
				t.Errorf("%s: getTracks answer carries raw < or >: %.300s", h.What, raw)
			}
			if v.ImageURL != "" {
				t.Errorf("%s: view carries imageUrl %q", h.What, v.ImageURL)
			}
		}
	})

	// Trending ranks the catalogue by the plays the demo gave it.
	t.Run("trending", func(t *testing.T) {
		want := slices.Clone(d.Tracks)
		slices.SortFunc(want, func(a, b demo.Track) int { return cmp.Compare(b.Plays, a.Plays) })
		if want[0].Plays == 0 || want[0].Plays == want[len(want)-1].Plays {
			t.Fatalf("plays %d..%d: no order to check", want[len(want)-1].Plays, want[0].Plays)
		}
		var page struct {
			Feed []demo.TrackView `json:"feed"`
		}
		if err := d.GetJSON(ctx, "/xrpc/app.relay.feed.getTrending?window=day&limit=100", &page); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range page.Feed {
			got = append(got, v.URI)
		}
		if len(got) != len(want) {
			t.Fatalf("trending lists %d tracks, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i].URI {
				t.Errorf("trending #%d is %s, want %s (%s, %d plays)", i+1, got[i], want[i].URI, want[i].Title, want[i].Plays)
			}
		}
	})

	// Close stops everything: relay serve's process and port, the
	// network's ports, and no child of this process is left.
	pid := d.RelayPID()
	relayAddr := strings.TrimPrefix(d.URL, "http://")
	pdsAddr := strings.TrimPrefix(d.Network.PDSURL, "http://")
	closed = true
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("relay serve (pid %d) still there after Close: kill 0 = %v", pid, err)
	}
	for _, addr := range []string{relayAddr, pdsAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
	}
	if kids := children(t, os.Getpid()); len(kids) > 0 {
		t.Errorf("processes left behind after Close: %v", kids)
	}
}

// TestPortBusy: a taken port is said so at once, before any network starts.
func TestPortBusy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t0 := time.Now()
	_, err = demo.Start(context.Background(), demo.Config{
		RelayBin: "/nonexistent", DataDir: filepath.Join(t.TempDir(), "data"),
		Listen: l.Addr().String(), NewMedia: newMedia,
	})
	if !errors.Is(err, demo.ErrPortBusy) {
		t.Fatalf("Start on a taken port: %v, want ErrPortBusy", err)
	}
	if !strings.Contains(err.Error(), "DEMO_PORT") {
		t.Errorf("error %q does not say how to choose another port", err)
	}
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("took %s: the network was started before the port was checked", took)
	}
}

// TestListenAddress: relay trusts its own http origin only on loopback, so
// the demo refuses any other address.
func TestListenAddress(t *testing.T) {
	for _, listen := range []string{":8080", "0.0.0.0:8080", "192.168.1.2:8080", "localhost:8080", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000"} {
		_, err := demo.Start(context.Background(), demo.Config{
			RelayBin: "/nonexistent", DataDir: filepath.Join(t.TempDir(), "data"), Listen: listen, NewMedia: newMedia,
		})
		if err == nil || !strings.Contains(err.Error(), "listen address") {
			t.Errorf("Listen %q: %v, want a listen address error", listen, err)
		}
	}
}

// TestDataDirRefused: a data dir with files the demo did not make (a real
// relay's, say) is refused and left as it was; the demo's own is emptied.
func TestDataDirRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "relay.db")
	if err := os.WriteFile(keep, []byte("not the demo's"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A taken port stops Start right after the data dir step, whatever it did.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := func() error {
		_, err := demo.Start(context.Background(), demo.Config{RelayBin: "/nonexistent", DataDir: dir, Listen: l.Addr().String(), NewMedia: newMedia})
		return err
	}
	if err := start(); err == nil || !strings.Contains(err.Error(), "refusing to empty it") {
		t.Fatalf("Start on a foreign data dir: %v, want refused", err)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "not the demo's" {
		t.Fatalf("the foreign file after Start: %q, %v", b, err)
	}
	if err := os.Remove(keep); err != nil {
		t.Fatal(err)
	}
	// Empty, it is taken and marked; then an earlier run's files go.
	if err := start(); !errors.Is(err, demo.ErrPortBusy) {
		t.Fatalf("Start on an empty data dir: %v, want ErrPortBusy after it", err)
	}
	if err := os.WriteFile(keep, []byte("an earlier demo's"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := start(); !errors.Is(err, demo.ErrPortBusy) {
		t.Fatalf("Start on the demo's data dir: %v, want ErrPortBusy after it", err)
	}
	if _, err := os.Stat(keep); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an earlier demo's file is still there: %v", err)
	}
}

func fetch(t *testing.T, u, wantType string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wantType {
		t.Fatalf("GET %s: %d %q, want 200 %q", u, resp.StatusCode, resp.Header.Get("Content-Type"), wantType)
	}
	return body
}

// children lists the live processes whose parent is pid, from /proc.
func children(t *testing.T, pid int) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) >= 2 && f[1] == strconv.Itoa(pid) {
			out = append(out, e.Name()+" "+s[:strings.LastIndexByte(s, ')')+1])
		}
	}
	return out
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
