package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// blob is content and the key it is stored under.
type blob struct {
	data []byte
	key  string
}

func newBlob(t testing.TB, prefix, ext string, data []byte) blob {
	t.Helper()
	k, err := MakeKey(prefix, sha256.Sum256(data), ext)
	if err != nil {
		t.Fatal(err)
	}
	return blob{data: data, key: k.String()}
}

// newLocal is a Local in a temp dir served by a real HTTP server on
// loopback at its public base.
func newLocal(t *testing.T) (*Local, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	// The server's URL is the public base: start it first on a listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(dir, "http://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(l.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); l.Close() })
	return l, srv
}

// tempFiles lists what a Put left in dir besides keys.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	for p := range contentTypes {
		entries, err := os.ReadDir(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				found = append(found, e.Name())
			}
		}
	}
	return found
}

func TestLocalPutServe(t *testing.T) {
	l, srv := newLocal(t)
	ctx := context.Background()
	audio := newBlob(t, "audio", "mp3", bytes.Repeat([]byte("0123456789"), 1000))
	if err := l.Put(ctx, audio.key, bytes.NewReader(audio.data), int64(len(audio.data)), "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	url := l.URL(audio.key)
	if url != srv.URL+"/"+audio.key {
		t.Fatalf("URL = %q, want %q", url, srv.URL+"/"+audio.key)
	}
	tests := []struct {
		name       string
		method     string
		rangeHdr   string
		wantStatus int
		wantBody   []byte
	}{
		{"whole", "GET", "", 200, audio.data},
		{"head", "HEAD", "", 200, nil},
		{"range", "GET", "bytes=10-19", 206, audio.data[10:20]},
		{"suffix range", "GET", "bytes=-5", 206, audio.data[len(audio.data)-5:]},
		{"open range", "GET", "bytes=9990-", 206, audio.data[9990:]},
		{"unsatisfiable", "GET", "bytes=20000-", 416, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, url, nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantBody != nil && !bytes.Equal(body, tt.wantBody) {
				t.Fatalf("body %d bytes, want %d", len(body), len(tt.wantBody))
			}
			if tt.wantStatus == 416 {
				return
			}
			for h, want := range map[string]string{
				"Content-Type":            "audio/mpeg",
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "public, max-age=31536000, immutable",
				"Content-Security-Policy": "default-src 'none'; sandbox",
				"Accept-Ranges":           "bytes",
				"ETag":                    `"` + audio.key[len("audio/"):len("audio/")+64] + `"`,
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}

	// A revalidation by ETag is a 304: the content cannot have changed.
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("If-None-Match", `"`+audio.key[len("audio/"):len("audio/")+64]+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: status %d, want 304", resp.StatusCode)
	}
}

func TestLocalContentTypes(t *testing.T) {
	l, _ := newLocal(t)
	tests := []struct{ prefix, ext, want string }{
		{"audio", "mp3", "audio/mpeg"},
		{"audio", "wav", "audio/wav"},
		{"audio", "ogg", "audio/ogg"},
		{"audio", "flac", "audio/flac"},
		{"audio", "opus", "audio/ogg"},
		{"audio", "m4a", "audio/mp4"},
		{"art", "png", "image/png"},
		{"art", "jpg", "image/jpeg"},
		{"art", "jpeg", "image/jpeg"},
		{"art", "webp", "image/webp"},
	}
	for _, tt := range tests {
		t.Run(tt.ext, func(t *testing.T) {
			// HTML content: served as the key says, never sniffed.
			b := newBlob(t, tt.prefix, tt.ext, []byte("<html><script>alert(1)</script>"+tt.ext))
			if err := l.Put(context.Background(), b.key, bytes.NewReader(b.data), int64(len(b.data)), ""); err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(l.URL(b.key))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Content-Type"); got != tt.want || resp.StatusCode != 200 {
				t.Fatalf("status %d, Content-Type %q, want 200 %q", resp.StatusCode, got, tt.want)
			}
		})
	}
}

// TestLocalTraversal: only ParseKey-valid names are served, whatever the
// path holds; a file outside the store is never reached.
func TestLocalTraversal(t *testing.T) {
	l, srv := newLocal(t)
	b := newBlob(t, "audio", "mp3", []byte("secret-adjacent"))
	if err := l.Put(context.Background(), b.key, bytes.NewReader(b.data), int64(len(b.data)), ""); err != nil {
		t.Fatal(err)
	}
	// A file beside the store's dir, and one in it that is not a key.
	if err := os.WriteFile(filepath.Join(l.dir, "..", "outside.mp3"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.dir, "audio", "notes.txt"), []byte("notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := b.key[len("audio/"):]
	paths := []string{
		"/audio/",
		"/art/",
		"/audio",
		"/",
		"/audio/notes.txt",
		"/audio/../outside.mp3",
		"/audio/..%2F..%2Foutside.mp3",
		"/audio/%2e%2e/outside.mp3",
		"/audio%2F" + name,
		"/audio/" + strings.ToUpper(name),
		"/audio/" + name + "%00",
		"/audio/" + name + "%00.png",
		"/audio/" + name[:63] + ".mp3",
		"/audio/" + name + "/",
		"/art/" + name,
		"/audio/" + strings.TrimSuffix(name, ".mp3") + ".png",
		"/audio/" + strings.Repeat("a", 5000) + ".mp3",
		"/audio/" + strings.Repeat("0", 64) + "." + strings.Repeat("m", 100),
		"/audio/" + tempPrefix + "x",
		"/audio//" + name,
		"/./audio/" + name,
	}
	for _, p := range paths {
		t.Run(p[:min(len(p), 60)], func(t *testing.T) {
			resp, err := http.Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 || bytes.Contains(body, []byte("outside")) || bytes.Contains(body, []byte("notes")) {
				t.Fatalf("%s: status %d, body %q: want refused", p, resp.StatusCode, body)
			}
		})
	}
	// The valid path itself is served (the table above is not refused for
	// some other reason).
	resp, err := http.Get(srv.URL + "/audio/" + name)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("valid key: status %d", resp.StatusCode)
	}
	// Only GET and HEAD.
	resp, err = http.Post(srv.URL+"/audio/"+name, "audio/mpeg", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d, want 405", resp.StatusCode)
	}
}

var errUploader = errors.New("connection reset by uploader")

// failingReader gives n bytes of data, then fails.
type failingReader struct {
	data []byte
	n    int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errUploader
	}
	c := copy(p, f.data[:min(f.n, len(f.data))])
	c = min(c, len(p))
	f.data, f.n = f.data[c:], f.n-c
	return c, nil
}

// TestLocalPutNothingPartial: a Put that fails for any reason leaves
// nothing under its key, and no temp file.
func TestLocalPutNothingPartial(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefgh"), 64<<10) // 512 KiB
	b := newBlob(t, "audio", "wav", data)
	other := newBlob(t, "audio", "wav", []byte("other bytes"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name        string
		ctx         context.Context
		key         string
		r           io.Reader
		size        int64
		contentType string
		wantErr     error
	}{
		{"reader fails mid-way", context.Background(), b.key, &failingReader{data: data, n: 300 << 10}, int64(len(data)), "", errUploader},
		{"fewer bytes than size", context.Background(), b.key, bytes.NewReader(data[:1000]), int64(len(data)), "", io.ErrUnexpectedEOF},
		{"more bytes than size", context.Background(), b.key, bytes.NewReader(append(bytes.Clone(data), 'x')), int64(len(data)), "", errTooLong},
		{"size short of content", context.Background(), b.key, bytes.NewReader(data), int64(len(data)) - 1, "", errTooLong},
		{"content not the key's", context.Background(), b.key, bytes.NewReader(other.data), int64(len(other.data)), "", ErrDigestMismatch},
		{"context done", cancelled, b.key, bytes.NewReader(data), int64(len(data)), "", context.Canceled},
		{"negative size", context.Background(), b.key, bytes.NewReader(data), -1, "", nil},
		{"wrong content type", context.Background(), b.key, bytes.NewReader(data), int64(len(data)), "text/html", nil},
		{"invalid key", context.Background(), "audio/../x.wav", bytes.NewReader(data), int64(len(data)), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLocal(t)
			err := l.Put(tt.ctx, tt.key, tt.r, tt.size, tt.contentType)
			if err == nil {
				t.Fatal("Put succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if ok, err := l.Exists(context.Background(), b.key); err != nil || ok {
				t.Fatalf("Exists after failed Put = %v, %v", ok, err)
			}
			if resp, err := http.Get(l.URL(b.key)); err != nil || resp.StatusCode != 404 {
				t.Fatalf("GET after failed Put: %v %v", resp.Status, err)
			}
			if tmp := tempFiles(t, l.dir); len(tmp) > 0 {
				t.Fatalf("temp files left: %v", tmp)
			}
		})
	}
}

// TestLocalConcurrentPut: many Puts of one key at once all succeed and the
// key holds the bytes whole.
func TestLocalConcurrentPut(t *testing.T) {
	l, _ := newLocal(t)
	b := newBlob(t, "audio", "flac", bytes.Repeat([]byte("flac"), 256<<10))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			errs <- l.Put(context.Background(), b.key, bytes.NewReader(b.data), int64(len(b.data)), "audio/flac")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Join(l.dir, b.key))
	if err != nil || !bytes.Equal(got, b.data) {
		t.Fatalf("stored %d bytes (%v), want %d", len(got), err, len(b.data))
	}
	if tmp := tempFiles(t, l.dir); len(tmp) > 0 {
		t.Fatalf("temp files left: %v", tmp)
	}
}

func TestLocalExistsDeleteDedupe(t *testing.T) {
	l, _ := newLocal(t)
	ctx := context.Background()
	b := newBlob(t, "art", "png", []byte("\x89PNG fake"))
	if ok, err := l.Exists(ctx, b.key); err != nil || ok {
		t.Fatalf("Exists before Put = %v, %v", ok, err)
	}
	if err := l.Put(ctx, b.key, bytes.NewReader(b.data), int64(len(b.data)), "image/png"); err != nil {
		t.Fatal(err)
	}
	// A second Put of a stored key does not read its reader.
	if err := l.Put(ctx, b.key, &failingReader{}, int64(len(b.data)), ""); err != nil {
		t.Fatalf("Put of a stored key: %v", err)
	}
	if ok, err := l.Exists(ctx, b.key); err != nil || !ok {
		t.Fatalf("Exists after Put = %v, %v", ok, err)
	}
	if err := l.Delete(ctx, b.key); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Exists(ctx, b.key); err != nil || ok {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
	if err := l.Delete(ctx, b.key); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if err := l.Delete(ctx, "art/../../etc/passwd"); err == nil {
		t.Fatal("Delete of an invalid key succeeded")
	}
	if _, err := l.Exists(ctx, "audio/x.mp3"); err == nil {
		t.Fatal("Exists of an invalid key succeeded")
	}
	if got := l.URL("audio/x.mp3"); got != "" {
		t.Fatalf("URL of an invalid key = %q", got)
	}
}

// TestLocalStaleTemps: a temp file a crash left is removed at the next
// open once old; a fresh one (a Put running elsewhere) is kept.
func TestLocalStaleTemps(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(dir, "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	old := filepath.Join(dir, "audio", tempPrefix+"old")
	fresh := filepath.Join(dir, "art", tempPrefix+"fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	l, err = NewLocal(dir, "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("fresh temp file removed: %v", err)
	}
}

func TestNewLocalPublicBase(t *testing.T) {
	tests := []struct {
		base, wantURLPrefix string
		ok                  bool
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/audio/", true},
		{"https://media.example.com/", "https://media.example.com/audio/", true},
		{"https://example.com/relay", "https://example.com/relay/audio/", true},
		{"", "", false},
		{"ftp://example.com", "", false},
		{"https://example.com/?q=1", "", false},
		{"https://user:pw@example.com", "", false},
		{"/relative", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			l, err := NewLocal(t.TempDir(), tt.base)
			if (err == nil) != tt.ok {
				t.Fatalf("NewLocal(%q) err = %v, want ok=%v", tt.base, err, tt.ok)
			}
			if err != nil {
				return
			}
			defer l.Close()
			key := "audio/" + strings.Repeat("ab", 32) + ".ogg"
			if got := l.URL(key); got != tt.wantURLPrefix+key[len("audio/"):] {
				t.Fatalf("URL = %q", got)
			}
		})
	}
}

func ExampleLocal() {
	dir, _ := os.MkdirTemp("", "media")
	defer os.RemoveAll(dir)
	store, _ := NewLocal(dir, "http://127.0.0.1:8080")
	defer store.Close()
	data := []byte("RIFF....WAVE")
	key, _ := MakeKey("audio", sha256.Sum256(data), "wav")
	if err := store.Put(context.Background(), key.String(), bytes.NewReader(data), int64(len(data)), key.ContentType()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(store.URL(key.String()))
	// Output: http://127.0.0.1:8080/audio/b589c9f03d18442efa847e499d7995c122a5fd9fa0c6859fcc0370210cdf9e37.wav
}
