package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/appview"
	"github.com/relaymusic/relay/plays"
	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// env is the service as relay serve builds it: a real SQLite store and
// Bleve index in a temp dir, the appview with this package mounted at /,
// on a loopback server that records every request it is asked; beside
// it, an https media server on loopback for artwork and audio.
type env struct {
	t     testing.TB
	store *sqlite.Store
	index *search.Index
	srv   *httptest.Server
	media *httptest.Server
	n     int
	plays *plays.Counter
	// hostile are the catalogue's hostile tracks.
	hostile []relay.Track

	mu       sync.Mutex
	requests []string // paths asked of srv, in order
	// slow, when set, delays the answer to a request (stale answers).
	slow func(*http.Request) time.Duration
}

func newEnv(t testing.TB) *env { return newEnvAt(t, "") }

// newEnvAt is newEnv with the web UI told its public URL (--public-url).
func newEnvAt(t testing.TB, publicURL string) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := search.Open(filepath.Join(dir, "search.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, index: idx}
	e.media = httptest.NewTLSServer(http.HandlerFunc(serveMedia))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	// The real plays counter, its clock two hours back: trending ranks
	// closed hours only, so a play made in a test shows there at once.
	e.plays = plays.NewCounter(plays.Config{Store: store, Log: log, Metrics: plays.NewMetrics(reg),
		Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	app := appview.New(appview.Config{
		Store: store, Index: idx, Version: "test", FirstPageTTL: -1, Log: log,
		Metrics: appview.NewMetrics(reg), Gatherer: reg, Plays: e.plays,
		Pages: func(s *appview.Server) http.Handler { return New(Config{Views: s, PublicURL: publicURL, Log: log}) },
	})
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Config = app.HTTPServer()
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.requests = append(e.requests, r.URL.Path)
		slow := e.slow
		e.mu.Unlock()
		if slow != nil {
			if d := slow(r); d > 0 {
				select {
				case <-time.After(d):
				case <-r.Context().Done():
				}
			}
		}
		app.ServeHTTP(w, r)
	})
	e.srv.Start()
	t.Cleanup(func() {
		e.srv.Close()
		e.media.Close()
		idx.Close()
		store.Close()
	})
	return e
}

// asked reports whether a request with this path prefix reached the server.
func (e *env) asked(prefix string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.requests {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// trackSpec is a track to write; empty URLs default to the media server's.
type trackSpec struct {
	did                         syntax.DID
	title, artist, album, image string
	audio                       string
	duration                    int64
	age                         time.Duration
	genre                       string
	tags                        []string
}

// add writes tracks through the store's apply path and brings the index
// up to date, as serve's follower does. The record is written as given,
// without validation: a row from before a rule, or a hostile one.
func (e *env) add(specs ...trackSpec) []relay.Track {
	e.t.Helper()
	ctx := context.Background()
	var events []relay.Event
	var out []relay.Track
	for _, s := range specs {
		e.n++
		created := time.Now().Add(-s.age).UTC()
		rkey := syntax.RecordKey(syntax.NewTID(created.UnixMicro()+int64(e.n), 0).String())
		if s.audio == "" {
			s.audio = fmt.Sprintf("%s/audio/%d.wav", e.media.URL, e.n)
		}
		rec := map[string]any{
			"$type": relay.TrackCollection, "title": s.title, "artist": s.artist, "audioUrl": s.audio,
			"fileType": "wav", "createdAt": created.Format("2006-01-02T15:04:05.000Z"),
		}
		if s.album != "" {
			rec["album"] = s.album
		}
		if s.image != "" {
			rec["imageUrl"] = s.image
		}
		var dur *int64
		if s.duration > 0 {
			d := s.duration
			dur = &d
			rec["duration"] = d
		}
		raw, _ := json.Marshal(rec)
		tr := relay.Track{
			DID: s.did, Collection: relay.TrackCollection, RKey: rkey, Rev: syntax.NewTIDNow(0).String(),
			CID:   "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq",
			Title: s.title, Artist: s.artist, Album: s.album, Genre: s.genre, Tags: s.tags, FileType: "wav",
			AudioURL: s.audio, ImageURL: s.image, Duration: dur, Record: raw, CreatedAt: created,
		}
		events = append(events, relay.Event{Kind: relay.TrackPut, DID: s.did, Track: &tr})
		out = append(out, tr)
	}
	if _, err := e.store.ApplyBatch(ctx, events, 0); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.index.CatchUp(ctx, e.store); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) handle(did syntax.DID, handle string) {
	e.t.Helper()
	if _, err := e.store.ApplyBatch(context.Background(), []relay.Event{{Kind: relay.IdentityUpdate, DID: did, Handle: handle}}, 0); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) art(n int) string { return fmt.Sprintf("%s/art/%d.png", e.media.URL, n) }

// The catalogue's accounts.
const (
	nova     = syntax.DID("did:plc:novaxxxxxxxxxxxxxxxxxxxx")
	lantern  = syntax.DID("did:plc:lanternsxxxxxxxxxxxxxxxx")
	mallory  = syntax.DID("did:plc:malloryxxxxxxxxxxxxxxxxx")
	hostile1 = `<img src=x onerror=alert(1)>`
	hostile2 = `"><script>alert(1)</script>`
)

// catalogue writes a small catalogue: two artists with handles, albums
// and artwork, and one account of hostile records.
func (e *env) catalogue() {
	e.t.Helper()
	e.handle(nova, "nova.example.com")
	e.handle(lantern, "lanterns.example.com")
	h := time.Hour
	e.add(
		trackSpec{did: nova, title: "glass harbour", artist: "nova", album: "tidelines", image: e.art(1), duration: 214, age: 50 * h, genre: "ambient", tags: []string{"calm", "synth"}},
		trackSpec{did: nova, title: "salt in the wires", artist: "nova", album: "tidelines", image: e.art(1), duration: 187, age: 49 * h},
		trackSpec{did: nova, title: "lowlight", artist: "nova", album: "tidelines", image: e.art(1), duration: 241, age: 48 * h},
		trackSpec{did: lantern, title: "paper moons", artist: "the lanterns", album: "night market", image: e.art(2), duration: 198, age: 30 * h},
		trackSpec{did: lantern, title: "café au lait", artist: "the lanterns", album: "night market", image: e.art(2), duration: 176, age: 29 * h},
		trackSpec{did: nova, title: "harbour lights (demo)", artist: "nova", image: e.art(3), duration: 95, age: 5 * h},
		trackSpec{did: lantern, title: "northbound", artist: "the lanterns", image: e.art(4), duration: 3725, age: 20 * time.Minute},
	)
	e.hostile = e.add(
		trackSpec{did: mallory, title: hostile1, artist: hostile2, album: hostile1, image: "javascript:alert(2)", audio: "javascript:alert(3)", duration: 60, age: 2 * h},
		trackSpec{did: mallory, title: hostile2, artist: "mallory", image: "http://127.0.0.1:9/evil.png", audio: "http://127.0.0.1:9/evil.mp3", duration: 61, age: 3 * h},
	)
}

// serveMedia answers artwork (a generated PNG per number) and audio (a
// quiet tone, WAV: a second, or 90 s as long.wav).
func serveMedia(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/art/"):
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/art/"), "%d.png", &n)
		w.Header().Set("Content-Type", "image/png")
		_ = png.Encode(w, artwork(n))
	case strings.HasPrefix(r.URL.Path, "/audio/"):
		w.Header().Set("Content-Type", "audio/wav")
		d := time.Second // short, so a queue plays through quickly
		if strings.HasSuffix(r.URL.Path, "/long.wav") {
			d = 90 * time.Second
		}
		http.ServeContent(w, r, "a.wav", time.Time{}, bytes.NewReader(tone(d)))
	default:
		http.NotFound(w, r)
	}
}

// artwork is a 256 px gradient, its hues picked by n.
func artwork(n int) image.Image {
	const size = 256
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	palettes := [][2]color.RGBA{
		{{0x2b, 0x5f, 0x8a, 255}, {0x7e, 0xe0, 0xb5, 255}},
		{{0x8a, 0x2b, 0x5f, 255}, {0xf2, 0xb0, 0x6a, 255}},
		{{0x3a, 0x2b, 0x8a, 255}, {0xe0, 0x7e, 0xd8, 255}},
		{{0x1d, 0x3b, 0x2a, 255}, {0xd6, 0xe0, 0x7e, 255}},
	}
	p := palettes[(n+len(palettes)-1)%len(palettes)]
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			f := float64(x+y) / (2 * size)
			ring := 0.5 + 0.5*math.Cos(math.Hypot(float64(x-size/2), float64(y-size/2))/9)
			mix := func(a, b uint8) uint8 { return uint8(float64(a)*(1-f) + float64(b)*f*(0.85+0.15*ring)) }
			img.Set(x, y, color.RGBA{mix(p[0].R, p[1].R), mix(p[0].G, p[1].G), mix(p[0].B, p[1].B), 255})
		}
	}
	return img
}

// tone is d of a quiet 440 Hz sine as 8 kHz 16-bit mono WAV.
func tone(d time.Duration) []byte {
	const rate = 8000
	n := int(d.Seconds() * rate)
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))
	w(uint16(1))
	w(uint32(rate))
	w(uint32(2 * rate))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	for i := 0; i < n; i++ {
		w(int16(2000 * math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	return b.Bytes()
}
