package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/appview"
	"github.com/relaymusic/relay/auth"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/internal/testnet"
	"github.com/relaymusic/relay/media"
	"github.com/relaymusic/relay/outbound"
	"github.com/relaymusic/relay/storage"
	"github.com/relaymusic/relay/validate"
)

// shared is the test network of every test here, started by the first
// that needs it and closed by TestMain.
var shared *testnet.Network

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		_ = shared.Close()
	}
	os.Exit(code)
}

func network(tb testing.TB) *testnet.Network {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts a PLC directory, a PDS, a relay and jetstream")
	}
	if shared == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		nw, err := testnet.Start(ctx, testnet.Options{})
		if err != nil {
			tb.Fatalf("start test network: %v", err)
		}
		shared = nw
	}
	return shared
}

// env is relay as serve wires it, on loopback: a real data dir (SQLite and
// Bleve), local storage served by the appview, auth and publish routed
// beside it, the index following the outbox, woken by publish.
type env struct {
	nw    *testnet.Network
	dd    *datadir.Dir
	local *storage.Local
	store storage.Store // what publish writes to: local, or R2
	pub   *Publisher
	srv   *httptest.Server
	url   string
	spool string
	media string
}

type envOptions struct {
	maxUpload int64
	limits    Limits
	// wrap, if set, is the store publish writes to (a failing one).
	wrap func(storage.Store) storage.Store
	// remote, if set, is the store instead of local disk (R2), and the
	// handler serving /audio/ and /art/.
	remote func(origin string) (storage.Store, http.Handler)
	// The appview's limits; publish's rate guard.
	server       appview.Limits
	minRate      int64
	minRateGrace time.Duration
	maxStall     time.Duration
}

func newEnv(tb testing.TB, o envOptions) *env {
	tb.Helper()
	nw := network(tb)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	dir := tb.TempDir()
	dd, err := datadir.Serving(ctx, filepath.Join(dir, "data"))
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{nw: nw, dd: dd, spool: filepath.Join(dir, "spool"), media: filepath.Join(dir, "media")}
	if err := os.MkdirAll(e.spool, 0o755); err != nil {
		tb.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(nil)
	e.url = "http://" + e.srv.Listener.Addr().String()
	if err := validate.TrustOrigin(e.url); err != nil {
		tb.Fatal(err)
	}
	if e.local, err = storage.NewLocal(e.media, e.url); err != nil {
		tb.Fatal(err)
	}
	client, err := outbound.New(outbound.Options{AllowPrivateNetwork: true, Trusted: []string{nw.PLCURL}, Timeout: 20 * time.Second, MaxBody: 1 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	dirc := identity.NewCacheDirectory(&identity.BaseDirectory{PLCURL: nw.PLCURL, HTTPClient: *client, SkipHandleVerification: true}, 100, time.Hour, time.Minute, time.Minute)
	authn := auth.New(auth.Config{Store: dd.Store, Directory: dirc, HTTPClient: client, PublicURL: e.url, TrustDeclaredHandles: true})
	wake := make(chan struct{}, 1)
	var ms storage.Store = e.local
	var handler http.Handler = e.local.Handler()
	if o.remote != nil {
		ms, handler = o.remote(e.url)
	}
	e.store = ms
	if o.wrap != nil {
		ms = o.wrap(ms)
	}
	e.pub, err = New(Config{
		Auth: authn, Store: dd.Store, Ledger: dd.Store, Media: ms,
		SpoolDir: e.spool, Journal: filepath.Join(dir, "journal"),
		MaxUploadBytes: o.maxUpload, Limits: o.limits, MinRate: o.minRate, MinRateGrace: o.minRateGrace, MaxStall: o.maxStall,
		Committed: func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	view := appview.New(appview.Config{
		Store: dd.Store, Index: dd.Index, Media: handler, FirstPageTTL: -1, Limits: o.server,
		Routes: func(mux *http.ServeMux) {
			authn.Register(mux)
			e.pub.Register(mux)
		},
	})
	// The appview's own http.Server: its 10 s ReadTimeout is what publish
	// lifts.
	hs := view.HTTPServer()
	e.srv.Config = hs
	e.srv.Start()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		_ = dd.Index.Follow(ctx, dd.Store, 200*time.Millisecond, wake)
	}()
	tb.Cleanup(func() {
		e.srv.Close()
		cancel()
		<-followed
		e.local.Close()
		dd.Close()
		validate.TrustOrigin("")
	})
	return e
}

// user is an account on the PDS logged in to relay with an app password.
type user struct {
	acct  *testnet.Account
	token string
}

func (e *env) login(tb testing.TB, prefix string) *user {
	tb.Helper()
	ctx := context.Background()
	acct, err := e.nw.CreateAccount(ctx, prefix)
	if err != nil {
		tb.Fatal(err)
	}
	var pw struct {
		Password string `json:"password"`
	}
	if err := acct.Client().Post(ctx, "com.atproto.server.createAppPassword", map[string]any{"name": "relay"}, &pw); err != nil {
		tb.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"identifier": acct.DID, "password": pw.Password})
	resp, err := http.Post(e.url+"/xrpc/app.relay.auth.createSession", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.Token == "" {
		tb.Fatalf("createSession: %d %v", resp.StatusCode, err)
	}
	return &user{acct: acct, token: out.Token}
}

// upload is one publish request's parts.
type upload struct {
	fields   map[string]string
	tags     []string
	file     []byte
	fileName string
	art      []byte
	// more writes further parts after the rest.
	more func(*multipart.Writer)
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func (e *env) do(tb testing.TB, req *http.Request, token string) answer {
	tb.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header, body: map[string]any{}}
	_ = json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

func (e *env) publish(tb testing.TB, token, path string, u upload) answer {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range u.fields {
		_ = mw.WriteField(k, v)
	}
	for _, t := range u.tags {
		_ = mw.WriteField("tags", t)
	}
	if u.file != nil {
		name := u.fileName
		if name == "" {
			name = "track.bin"
		}
		w, _ := mw.CreateFormFile("file", name)
		w.Write(u.file)
	}
	if u.art != nil {
		w, _ := mw.CreateFormFile("artwork", "cover.png")
		w.Write(u.art)
	}
	if u.more != nil {
		u.more(mw)
	}
	mw.Close()
	if path == "" {
		path = "/tracks"
	}
	req, _ := http.NewRequest("POST", e.url+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.do(tb, req, token)
}

func (e *env) delete(tb testing.TB, token, path string) answer {
	tb.Helper()
	req, _ := http.NewRequest("DELETE", e.url+path, nil)
	return e.do(tb, req, token)
}

// search answers the URIs searchTracks finds for q.
func (e *env) search(tb testing.TB, q string) []string {
	tb.Helper()
	resp, err := http.Get(e.url + "/xrpc/app.relay.feed.searchTracks?q=" + url.QueryEscape(q))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Tracks []struct {
			URI string `json:"uri"`
		} `json:"tracks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		tb.Fatalf("searchTracks: %d %v", resp.StatusCode, err)
	}
	var uris []string
	for _, t := range out.Tracks {
		uris = append(uris, t.URI)
	}
	return uris
}

// searchable waits (at most 5 s) until searchTracks finds uri for q, and
// answers how long that took.
func (e *env) searchable(tb testing.TB, q, uri string) time.Duration {
	tb.Helper()
	start := time.Now()
	for {
		for _, u := range e.search(tb, q) {
			if u == uri {
				return time.Since(start)
			}
		}
		if time.Since(start) > 5*time.Second {
			tb.Fatalf("searchTracks %q never found %s", q, uri)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// getRecord reads the record at uri from the PDS; nil when it is not there.
func (e *env) getRecord(tb testing.TB, acct *testnet.Account, uri string) map[string]any {
	tb.Helper()
	parts := strings.Split(strings.TrimPrefix(uri, "at://"), "/")
	var out struct {
		Value map[string]any `json:"value"`
	}
	err := acct.Client().Get(context.Background(), "com.atproto.repo.getRecord", map[string]any{"repo": parts[0], "collection": parts[1], "rkey": parts[2]}, &out)
	if err != nil {
		if strings.Contains(err.Error(), "RecordNotFound") || strings.Contains(err.Error(), "Could not locate record") {
			return nil
		}
		tb.Fatalf("getRecord %s: %v", uri, err)
	}
	return out.Value
}

func (e *env) listRecords(tb testing.TB, acct *testnet.Account) int {
	tb.Helper()
	var out struct {
		Records []json.RawMessage `json:"records"`
	}
	if err := acct.Client().Get(context.Background(), "com.atproto.repo.listRecords", map[string]any{"repo": acct.DID, "collection": Collection.String()}, &out); err != nil {
		tb.Fatal(err)
	}
	return len(out.Records)
}

// objects lists what is stored under the media dir, temp files included.
func (e *env) objects(tb testing.TB) []string {
	tb.Helper()
	var names []string
	err := filepath.WalkDir(e.media, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, strings.TrimPrefix(p, e.media+"/"))
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

func (e *env) spooled(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir(e.spool)
	if err != nil {
		tb.Fatal(err)
	}
	return len(ents)
}

func rkeyOf(uri string) string { return uri[strings.LastIndex(uri, "/")+1:] }

// sineWAV is secs seconds of a sine at hz, 16-bit mono at 8 kHz.
func sineWAV(secs float64, hz float64) []byte {
	const rate = 8000
	n := int(secs * rate)
	var b bytes.Buffer
	b.Write(wavHeader(int64(n) * 2))
	for i := 0; i < n; i++ {
		v := int16(math.Sin(2*math.Pi*hz*float64(i)/rate) * 12000)
		binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

// wavHeader is the RIFF header of data bytes of 16-bit mono 8 kHz PCM.
func wavHeader(data int64) []byte {
	const rate = 8000
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1))      // PCM
	binary.Write(&b, binary.LittleEndian, uint16(1))      // mono
	binary.Write(&b, binary.LittleEndian, uint32(rate))   // sample rate
	binary.Write(&b, binary.LittleEndian, uint32(rate*2)) // byte rate
	binary.Write(&b, binary.LittleEndian, uint16(2))      // block align
	binary.Write(&b, binary.LittleEndian, uint16(16))     // bits
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	return b.Bytes()
}

func coverPNG(tb testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range 32 {
		img.Set(i, i, color.RGBA{200, 40, 90, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestPublishEndToEnd: an app-password login on the real PDS; a WAV made
// here and an m4a from media's samples published; the records on the PDS
// carry fileType, duration and audioSha256; searchTracks finds them at
// once; the audio answers a Range request through its audioUrl; the same
// bytes twice are one object, kept while a track names it; deleting takes
// the track off the PDS, the index and storage.
func TestPublishEndToEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.login(t, "pubee")
	wav := sineWAV(2, 440)
	m4a, err := os.ReadFile("../media/testdata/sine-3s.m4a")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, title, fileType string
		file, art                   []byte
		duration                    float64
	}{
		{"wav with artwork", "/tracks", "Quiet Harbour", "wav", wav, coverPNG(t), 2},
		{"m4a over xrpc", "/xrpc/app.relay.track.publish", "Northern Glass", "m4a", m4a, nil, 3},
	}
	var uris []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := e.publish(t, u.token, c.path, upload{
				fields: map[string]string{"title": c.title, "artist": "Aurora Lane", "album": "Tides", "genre": "ambient", "description": "made in a test"},
				tags:   []string{"calm, sea", "field"}, file: c.file, fileName: "whatever.mp3", art: c.art,
			})
			if a.status != 200 {
				t.Fatalf("publish: %d %v", a.status, a.body)
			}
			uri, audioURL := a.str("uri"), a.str("audioUrl")
			if !strings.HasPrefix(uri, "at://"+u.acct.DID+"/app.relay.track/") || a.str("cid") == "" {
				t.Fatalf("publish answered %v", a.body)
			}
			wantKey := "audio/" + sha(c.file) + "." + c.fileType
			if audioURL != e.url+"/"+wantKey {
				t.Errorf("audioUrl %s, want %s", audioURL, e.url+"/"+wantKey)
			}
			rec := e.getRecord(t, u.acct, uri)
			if rec == nil {
				t.Fatal("no record on the PDS")
			}
			if rec["fileType"] != c.fileType || rec["duration"] != c.duration || rec["audioSha256"] != sha(c.file) || rec["audioSize"] != float64(len(c.file)) || rec["audioUrl"] != audioURL {
				t.Errorf("record on the PDS: %v", rec)
			}
			if tags, _ := rec["tags"].([]any); len(tags) != 3 {
				t.Errorf("tags %v, want calm, sea, field", rec["tags"])
			}
			if (c.art != nil) != (rec["imageUrl"] != nil) {
				t.Errorf("imageUrl %v", rec["imageUrl"])
			}
			e.searchable(t, c.title, uri)
			e.firehoseCopyIsStale(t, u.acct, uri)

			req, _ := http.NewRequest("GET", audioURL, nil)
			req.Header.Set("Range", "bytes=4-11")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, c.file[4:12]) {
				t.Errorf("ranged GET of the audio: %d %q", resp.StatusCode, got)
			}
			uris = append(uris, uri)
		})
	}
	if len(uris) != 2 {
		t.FailNow()
	}

	// The same bytes again: one object, named by two tracks.
	a := e.publish(t, u.token, "", upload{fields: map[string]string{"title": "Quiet Harbour Again", "artist": "Aurora Lane"}, file: wav})
	if a.status != 200 {
		t.Fatalf("publish again: %d %v", a.status, a.body)
	}
	again := a.str("uri")
	wavKey := "audio/" + sha(wav) + ".wav"
	if n := len(e.objects(t)); n != 3 { // the wav, the png, the m4a
		t.Errorf("%d objects after the same bytes twice, want 3: %v", n, e.objects(t))
	}
	exists := func(key string) bool {
		ok, err := e.local.Exists(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	// Deleting the first keeps the wav (the second names it), not the art.
	if d := e.delete(t, u.token, "/tracks/"+rkeyOf(uris[0])); d.status != 200 {
		t.Fatalf("delete: %d %v", d.status, d.body)
	}
	if e.getRecord(t, u.acct, uris[0]) != nil {
		t.Error("the record is still on the PDS")
	}
	if !exists(wavKey) {
		t.Error("the wav is gone while another track names it")
	}
	if exists("art/" + sha(coverPNG(t)) + ".png") {
		t.Error("the artwork of the deleted track stayed")
	}
	// Both delete forms, the second with the DID.
	if d := e.delete(t, u.token, "/tracks/"+u.acct.DID+"/"+rkeyOf(again)); d.status != 200 {
		t.Fatalf("delete by did/rkey: %d %v", d.status, d.body)
	}
	if d := e.delete(t, u.token, "/tracks/"+rkeyOf(uris[1])); d.status != 200 {
		t.Fatalf("delete: %d %v", d.status, d.body)
	}
	for _, uri := range append(uris, again) {
		if e.getRecord(t, u.acct, uri) != nil {
			t.Errorf("%s still on the PDS", uri)
		}
	}
	for _, q := range []string{"Quiet Harbour", "Northern Glass"} {
		if hits := e.search(t, q); len(hits) != 0 {
			t.Errorf("searchTracks %q still finds %v", q, hits)
		}
	}
	if objs := e.objects(t); len(objs) != 0 {
		t.Errorf("objects left after every delete: %v", objs)
	}
}

// TestRefusals: what is refused stores nothing and writes nothing.
func TestRefusals(t *testing.T) {
	e := newEnv(t, envOptions{maxUpload: 1 << 20})
	u := e.login(t, "pubref")
	ok := map[string]string{"title": "t", "artist": "a"}
	cases := []struct {
		name    string
		token   string
		up      upload
		status  int
		errName string
		msg     string
	}{
		{"no login", "", upload{fields: ok, file: sineWAV(1, 440)}, 401, "AuthenticationRequired", ""},
		{"a bad token", "rly_nope", upload{fields: ok, file: sineWAV(1, 440)}, 401, "AuthenticationRequired", ""},
		{"text named .mp3", u.token, upload{fields: ok, file: []byte("these are not the droids you are looking for\n"), fileName: "song.mp3"}, 400, "UnsupportedMedia", "text"},
		{"a video", u.token, upload{fields: ok, file: mustRead(t, "../media/testdata/video.mp4")}, 400, "UnsupportedMedia", ""},
		{"over the size limit", u.token, upload{fields: ok, file: sineWAV(70, 440)}, 413, "PayloadTooLarge", ""},
		{"a body announced past every bound", u.token, upload{fields: ok, file: sineWAV(525, 440)}, 413, "PayloadTooLarge", "request body"},
		{"artwork not an image", u.token, upload{fields: ok, file: sineWAV(1, 440), art: []byte("GIF89a not really")}, 400, "UnsupportedMedia", ""},
		{"no title", u.token, upload{fields: map[string]string{"artist": "a"}, file: sineWAV(1, 440)}, 400, "InvalidRequest", ""},
		{"no file", u.token, upload{fields: ok}, 400, "InvalidRequest", ""},
		{"a title past the lexicon", u.token, upload{fields: map[string]string{"title": strings.Repeat("é", 300), "artist": "a"}, file: sineWAV(1, 440)}, 400, "InvalidRecord", ""},
		{"a field past its bound", u.token, upload{fields: map[string]string{"title": "t", "artist": "a", "description": strings.Repeat("x", maxFieldBytes+1)}, file: sineWAV(1, 440)}, 400, "InvalidRequest", "bytes"},
		{"too many parts", u.token, upload{fields: ok, file: sineWAV(1, 440), more: func(mw *multipart.Writer) {
			for i := range maxParts {
				_ = mw.WriteField(fmt.Sprint("x", i), "y")
			}
		}}, 400, "InvalidRequest", "parts"},
		{"two files", u.token, upload{fields: ok, file: sineWAV(1, 440), more: func(mw *multipart.Writer) {
			w, _ := mw.CreateFormFile("file", "b.wav")
			w.Write(sineWAV(1, 220))
		}}, 400, "InvalidRequest", "more than one"},
		{"artwork over its bound", u.token, upload{fields: ok, file: sineWAV(1, 440), art: make([]byte, media.MaxArtworkBytes+1)}, 413, "PayloadTooLarge", "artwork"},
		{"too many tags", u.token, upload{fields: ok, tags: []string{"1,2,3,4,5,6,7,8,9,10,11"}, file: sineWAV(1, 440)}, 400, "InvalidRecord", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := e.publish(t, c.token, "", c.up)
			if a.status != c.status || a.str("error") != c.errName || !strings.Contains(a.str("message"), c.msg) {
				t.Errorf("got %d %v, want %d %s", a.status, a.body, c.status, c.errName)
			}
			if objs := e.objects(t); len(objs) != 0 {
				t.Errorf("stored %v", objs)
			}
			if n := e.spooled(t); n != 0 {
				t.Errorf("%d spool files left", n)
			}
		})
	}
	if n := e.listRecords(t, u.acct); n != 0 {
		t.Errorf("%d records written by refused uploads", n)
	}
	// A request that is not multipart at all.
	req, _ := http.NewRequest("POST", e.url+"/tracks", strings.NewReader(`{"title":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	if a := e.do(t, req, u.token); a.status != 400 {
		t.Errorf("a JSON body: %d %v", a.status, a.body)
	}
}

func mustRead(tb testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestPDSDown: the PDS stopped during publish: 502 UpstreamFailure, and
// the object put before the write is gone.
func TestPDSDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.login(t, "pubdown")
	if err := e.nw.StopPDS(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	restart := func() {
		if !restarted {
			restarted = true
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := e.nw.StartPDS(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(restart)
	a := e.publish(t, u.token, "", upload{fields: map[string]string{"title": "Lost Signal", "artist": "a"}, file: sineWAV(1, 300), art: coverPNG(t)})
	if a.status != http.StatusBadGateway || a.str("error") != "UpstreamFailure" {
		t.Errorf("publish with the PDS down: %d %v", a.status, a.body)
	}
	if objs := e.objects(t); len(objs) != 0 {
		t.Errorf("objects left: %v", objs)
	}
	restart()
	if n := e.listRecords(t, u.acct); n != 0 {
		t.Errorf("%d records on the PDS", n)
	}
	if hits := e.search(t, "Lost Signal"); len(hits) != 0 {
		t.Errorf("search finds %v", hits)
	}
	// And the PDS back, the same upload goes through: nothing stuck.
	if a := e.publish(t, u.token, "", upload{fields: map[string]string{"title": "Lost Signal", "artist": "a"}, file: sineWAV(1, 300)}); a.status != 200 {
		t.Errorf("publish after the PDS came back: %d %v", a.status, a.body)
	}
}

// failingStore is the real local store whose Put fails: the object store
// down.
type failingStore struct{ storage.Store }

func (failingStore) Put(context.Context, string, io.Reader, int64, string) error {
	return errors.New("object store unreachable")
}

// TestStorageDown: the object store failing: 503, no record written.
func TestStorageDown(t *testing.T) {
	e := newEnv(t, envOptions{wrap: func(s storage.Store) storage.Store { return failingStore{s} }})
	u := e.login(t, "pubstore")
	a := e.publish(t, u.token, "", upload{fields: map[string]string{"title": "Nowhere", "artist": "a"}, file: sineWAV(1, 500)})
	if a.status != http.StatusServiceUnavailable || a.str("error") != "StorageUnavailable" {
		t.Errorf("publish with storage down: %d %v", a.status, a.body)
	}
	if n := e.listRecords(t, u.acct); n != 0 {
		t.Errorf("%d records written with storage down", n)
	}
	if objs := e.objects(t); len(objs) != 0 {
		t.Errorf("objects: %v", objs)
	}
}

// TestWrongUserDeletes: another user's DELETE of a track is 403, and the
// track stays on the PDS, in search and in storage.
func TestWrongUserDeletes(t *testing.T) {
	e := newEnv(t, envOptions{})
	owner, other := e.login(t, "pubown"), e.login(t, "pubother")
	wav := sineWAV(1, 660)
	a := e.publish(t, owner.token, "", upload{fields: map[string]string{"title": "Kept Safe", "artist": "a"}, file: wav})
	if a.status != 200 {
		t.Fatalf("publish: %d %v", a.status, a.body)
	}
	uri := a.str("uri")
	e.searchable(t, "Kept Safe", uri)
	cases := []struct {
		name, path, token string
		status            int
	}{
		{"the owner's did", "/tracks/" + owner.acct.DID + "/" + rkeyOf(uri), other.token, 403},
		{"no login", "/tracks/" + rkeyOf(uri), "", 401},
		{"not a did", "/tracks/nobody/" + rkeyOf(uri), other.token, 400},
		{"not a record key", "/tracks/a%20b", other.token, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if d := e.delete(t, c.token, c.path); d.status != c.status {
				t.Errorf("got %d %v, want %d", d.status, d.body, c.status)
			}
		})
	}
	// The other user's own rkey of the same name is their own repo: the
	// owner's track is untouched.
	if d := e.delete(t, other.token, "/tracks/"+rkeyOf(uri)); d.status != 200 {
		t.Errorf("deleting a missing track of one's own: %d %v", d.status, d.body)
	}
	if e.getRecord(t, owner.acct, uri) == nil {
		t.Error("the record is gone from the PDS")
	}
	e.searchable(t, "Kept Safe", uri)
	if ok, _ := e.local.Exists(context.Background(), "audio/"+sha(wav)+".wav"); !ok {
		t.Error("the audio is gone")
	}
}

// TestRateLimit: the 11th upload in an hour is 429 with a Retry-After
// within the hour; uploads refused for another reason do not count.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.login(t, "publim")
	if a := e.publish(t, u.token, "", upload{fields: map[string]string{"title": "x", "artist": "a"}, file: []byte("not audio")}); a.status != 400 {
		t.Fatalf("refused upload: %d", a.status)
	}
	for i := range 10 {
		a := e.publish(t, u.token, "", upload{fields: map[string]string{"title": fmt.Sprint("take ", i), "artist": "a"}, file: sineWAV(1, float64(200+i))})
		if a.status != 200 {
			t.Fatalf("upload %d: %d %v", i+1, a.status, a.body)
		}
	}
	a := e.publish(t, u.token, "", upload{fields: map[string]string{"title": "one too many", "artist": "a"}, file: sineWAV(1, 999)})
	ra, _ := strconv.Atoi(a.header.Get("Retry-After"))
	if a.status != http.StatusTooManyRequests || a.str("error") != "RateLimitExceeded" || ra < 3500 || ra > 3600 {
		t.Errorf("11th upload: %d Retry-After %q %v", a.status, a.header.Get("Retry-After"), a.body)
	}
	if n := e.listRecords(t, u.acct); n != 10 {
		t.Errorf("%d records, want 10", n)
	}
	if hits := e.search(t, "one too many"); len(hits) != 0 {
		t.Errorf("the refused upload is searchable: %v", hits)
	}
}

// trickle sends a publish of file whose body arrives in ten pieces over
// about d.
func (e *env) trickle(tb testing.TB, token string, file []byte, d time.Duration) answer {
	tb.Helper()
	stopped := make(chan struct{})
	defer close(stopped)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		_ = mw.WriteField("title", "slow one")
		_ = mw.WriteField("artist", "a")
		w, _ := mw.CreateFormFile("file", "slow.wav")
		step := (len(file) + 9) / 10
		for off := 0; off < len(file); off += step {
			if d < 0 && off >= len(file)/2 {
				// Stops dead halfway, the connection left open until the
				// server gives up on it.
				<-stopped
				pw.CloseWithError(errors.New("stopped"))
				return
			}
			time.Sleep(d.Abs() / 10)
			if _, err := w.Write(file[off:min(off+step, len(file))]); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	// A server that never cuts a stalled body fails the test, not hangs it.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/tracks", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{status: -1, body: map[string]any{"error": err.Error()}}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header, body: map[string]any{}}
	_ = json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

// TestSlowUploads: an upload slower than the server's ReadTimeout (here
// 1 s) but above the minimum rate goes through, since publish lifts the
// deadline for its route; one below the minimum rate past the grace is
// cut (408), and stores nothing; one that stops sending halfway is cut
// after MaxStall, long before its whole-body deadline (minutes here), and
// stores nothing.
func TestSlowUploads(t *testing.T) {
	cases := []struct {
		name    string
		minRate int64
		trickle time.Duration // negative: stops halfway
		status  int
		within  time.Duration
	}{
		{"past the read timeout, above the rate", 1 << 10, 2500 * time.Millisecond, 200, time.Minute},
		{"below the minimum rate", 1 << 20, 2500 * time.Millisecond, http.StatusRequestTimeout, time.Minute},
		{"stops sending", 1, -2500 * time.Millisecond, http.StatusRequestTimeout, 20 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOptions{server: appview.Limits{ReadTimeout: time.Second}, minRate: c.minRate, minRateGrace: 500 * time.Millisecond, maxStall: 2 * time.Second})
			u := e.login(t, "pubslow")
			t0 := time.Now()
			a := e.trickle(t, u.token, sineWAV(2, 440), c.trickle)
			if a.status != c.status {
				t.Fatalf("got %d %v, want %d", a.status, a.body, c.status)
			}
			if took := time.Since(t0); took > c.within {
				t.Errorf("answered after %v, want within %v", took, c.within)
			}
			if c.status != 200 {
				if objs := e.objects(t); len(objs) != 0 {
					t.Errorf("stored %v", objs)
				}
				if n := e.spooled(t); n != 0 {
					t.Errorf("%d spool files left", n)
				}
			}
		})
	}
}

// firehoseCopyIsStale applies the record at uri as the firehose would
// bring it (the repo's latest commit rev, its CID, its bytes from the PDS)
// and checks the store takes it as stale: publish applied it at that rev.
func (e *env) firehoseCopyIsStale(tb testing.TB, acct *testnet.Account, uri string) {
	tb.Helper()
	ctx := context.Background()
	var head struct {
		Rev string `json:"rev"`
	}
	if err := acct.Client().Get(ctx, "com.atproto.sync.getLatestCommit", map[string]any{"did": acct.DID}, &head); err != nil {
		tb.Fatal(err)
	}
	parts := strings.Split(strings.TrimPrefix(uri, "at://"), "/")
	var rec struct {
		CID   string          `json:"cid"`
		Value json.RawMessage `json:"value"`
	}
	if err := acct.Client().Get(ctx, "com.atproto.repo.getRecord", map[string]any{"repo": parts[0], "collection": parts[1], "rkey": parts[2]}, &rec); err != nil {
		tb.Fatal(err)
	}
	tr, err := validate.Record(syntax.DID(acct.DID), Collection, syntax.RecordKey(parts[2]), head.Rev, rec.CID, rec.Value)
	if err != nil {
		tb.Fatalf("the record on the PDS fails validation: %v", err)
	}
	res, err := e.dd.Store.ApplyBatch(ctx, []relay.Event{{Kind: relay.TrackPut, DID: syntax.DID(acct.DID), Track: tr}}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if res.Stale != 1 || res.Applied != 0 {
		tb.Errorf("the firehose's copy at rev %s: %+v, want stale", head.Rev, res)
	}
}
