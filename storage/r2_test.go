package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// objects lists the bucket's keys, straight from the server.
func objects(t *testing.T, r *R2) []string {
	t.Helper()
	out, err := r.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(r.cfg.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// getObject reads key straight from the server.
func getObject(t *testing.T, r *R2, key string) ([]byte, string) {
	t.Helper()
	out, err := r.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(r.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data, aws.ToString(out.ContentType)
}

// TestR2: upload, dedupe, delete against a real S3 server.
func TestR2(t *testing.T) {
	s := startS3(t, "")
	r := testR2(t, s, nil)
	ctx := context.Background()
	audio := newBlob(t, "audio", "ogg", bytes.Repeat([]byte("OggS"), 300<<10))

	if ok, err := r.Exists(ctx, audio.key); err != nil || ok {
		t.Fatalf("Exists before Put = %v, %v", ok, err)
	}
	// A plain io.Reader: no seeking, no length of its own.
	if err := r.Put(ctx, audio.key, io.MultiReader(bytes.NewReader(audio.data)), int64(len(audio.data)), "audio/ogg"); err != nil {
		t.Fatal(err)
	}
	got, ctype := getObject(t, r, audio.key)
	if !bytes.Equal(got, audio.data) || ctype != "audio/ogg" {
		t.Fatalf("stored %d bytes of %q, want %d of audio/ogg", len(got), ctype, len(audio.data))
	}
	if ok, err := r.Exists(ctx, audio.key); err != nil || !ok {
		t.Fatalf("Exists after Put = %v, %v", ok, err)
	}
	if url := r.URL(audio.key); url != "https://media.example.com/"+audio.key {
		t.Fatalf("URL = %q", url)
	}

	// Dedupe: the same key again, once after and many at once, is one
	// object; a Put of a stored key does not read its reader.
	if err := r.Put(ctx, audio.key, &failingReader{}, int64(len(audio.data)), ""); err != nil {
		t.Fatalf("second Put: %v", err)
	}
	// A seeker (a spooled upload's file) is streamed too.
	wav := newBlob(t, "audio", "wav", bytes.Repeat([]byte("RIFF"), 100<<10))
	if err := r.Put(ctx, wav.key, bytes.NewReader(wav.data), int64(len(wav.data)), ""); err != nil {
		t.Fatal(err)
	}
	if got, ctype := getObject(t, r, wav.key); !bytes.Equal(got, wav.data) || ctype != "audio/wav" {
		t.Fatalf("stored %d bytes of %q", len(got), ctype)
	}
	if err := r.Delete(ctx, wav.key); err != nil {
		t.Fatal(err)
	}
	art := newBlob(t, "art", "webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- r.Put(ctx, art.key, bytes.NewReader(art.data), int64(len(art.data)), "image/webp") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Put: %v", err)
		}
	}
	if keys := objects(t, r); len(keys) != 2 {
		t.Fatalf("objects = %v, want the two keys once each", keys)
	}

	if err := r.Delete(ctx, audio.key); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Exists(ctx, audio.key); err != nil || ok {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
	if err := r.Delete(ctx, audio.key); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if keys := objects(t, r); len(keys) != 1 || keys[0] != art.key {
		t.Fatalf("objects after Delete = %v", keys)
	}
	for _, bad := range []string{"audio/../x.mp3", "", "art/" + strings.Repeat("a", 64) + ".exe"} {
		if err := r.Delete(ctx, bad); err == nil {
			t.Fatalf("Delete(%q) succeeded", bad)
		}
		if _, err := r.Exists(ctx, bad); err == nil {
			t.Fatalf("Exists(%q) succeeded", bad)
		}
	}
	// Without signed URLs the public bucket serves: nothing here.
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/" + art.key)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("Handler without signed URLs: %d, want 404", resp.StatusCode)
	}
}

// TestR2FailedPutLeavesNothing: a Put that fails mid-way, whether its
// reader fails, its content is not the key's, or the server dies under
// it, leaves no object under the key.
func TestR2FailedPutLeavesNothing(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	b := newBlob(t, "audio", "flac", data)
	other := newBlob(t, "audio", "flac", bytes.Repeat([]byte("x"), 1<<20))

	s := startS3(t, "")
	r := testR2(t, s, nil)
	tests := []struct {
		name    string
		body    io.Reader
		size    int64
		wantErr error
	}{
		{"reader fails mid-way", &failingReader{data: data, n: 5 << 20}, int64(len(data)), errUploader},
		{"fewer bytes than size", bytes.NewReader(data[:3<<20]), int64(len(data)), nil},
		{"more bytes than size", bytes.NewReader(data), int64(len(data)) - 1, nil},
		// Signed as b's hash: the server itself refuses it.
		{"content not the key's", bytes.NewReader(other.data[:len(other.data)]), int64(len(other.data)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Put(ctx, b.key, tt.body, tt.size, "")
			if err == nil {
				t.Fatal("Put succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if ok, err := r.Exists(ctx, b.key); err != nil || ok {
				t.Fatalf("Exists after failed Put = %v, %v", ok, err)
			}
		})
	}

	// The server killed during a large Put: the Put fails, and once the
	// server is back on the same disk the key is absent.
	killed := make(chan struct{})
	body := &killingReader{r: bytes.NewReader(data), after: 6 << 20, kill: func() { s.Kill(); close(killed) }}
	if err := r.Put(ctx, b.key, body, int64(len(data)), ""); err == nil {
		t.Fatal("Put through a killed server succeeded")
	}
	<-killed
	s2 := startS3(t, s.Root)
	r2 := testR2(t, s2, nil)
	if ok, err := r2.Exists(ctx, b.key); err != nil || ok {
		t.Fatalf("Exists after the server died mid-Put = %v, %v", ok, err)
	}
	if keys := objects(t, r2); len(keys) != 0 {
		t.Fatalf("objects after failed Puts = %v", keys)
	}
	// And the same Put then succeeds whole.
	if err := r2.Put(ctx, b.key, bytes.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := getObject(t, r2, b.key); !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(data))
	}
}

// killingReader kills the server once after bytes have been read.
type killingReader struct {
	r     io.Reader
	after int
	read  int
	kill  func()
	once  sync.Once
}

func (k *killingReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	k.read += n
	if k.read >= k.after {
		k.once.Do(k.kill)
	}
	return n, err
}

// TestR2SignedURLs: with signed URLs a record names this service's URL,
// whose Handler redirects to a presigned GET that serves the object
// (ranges too) and stops working once its TTL is past.
func TestR2SignedURLs(t *testing.T) {
	s := startS3(t, "")
	const ttl = 2 * time.Second
	r := testR2(t, s, func(c *R2Config) {
		c.PublicURL, c.SignedURLs, c.URLTTL, c.ServiceURL = "", true, ttl, "http://127.0.0.1:8080"
	})
	ctx := context.Background()
	b := newBlob(t, "audio", "mp3", bytes.Repeat([]byte{0xff, 0xfb, 0x90, 0x00}, 64<<10))
	if err := r.Put(ctx, b.key, bytes.NewReader(b.data), int64(len(b.data)), ""); err != nil {
		t.Fatal(err)
	}
	if url := r.URL(b.key); url != "http://127.0.0.1:8080/"+b.key {
		t.Fatalf("URL = %q, want this service's", url)
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/" + b.key)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	signed := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(signed, s.Endpoint+"/relay-media/"+b.key+"?") {
		t.Fatalf("status %d, Location %q: want 302 to the bucket", resp.StatusCode, signed)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=1" {
		t.Fatalf("Cache-Control = %q, want half the TTL", cc)
	}
	if strings.Contains(signed, testSecretKey) {
		t.Fatal("signed URL holds the secret")
	}

	fetch := func(rangeHdr string) (int, []byte) {
		req, _ := http.NewRequest("GET", signed, nil)
		if rangeHdr != "" {
			req.Header.Set("Range", rangeHdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if status, body := fetch(""); status != 200 || !bytes.Equal(body, b.data) {
		t.Fatalf("signed GET: %d, %d bytes", status, len(body))
	}
	if status, body := fetch("bytes=4-11"); status != 206 || !bytes.Equal(body, b.data[4:12]) {
		t.Fatalf("signed range GET: %d, %q", status, body)
	}
	// The signature is good for whole seconds; past the TTL it is refused.
	time.Sleep(ttl + 1500*time.Millisecond)
	if status, body := fetch(""); status != http.StatusForbidden {
		t.Fatalf("expired signed GET: %d %q, want 403", status, body[:min(len(body), 200)])
	}
	// A fresh redirect works again.
	resp, err = http.Get(srv.URL + "/" + b.key)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, b.data) {
		t.Fatalf("followed fresh redirect: %d, %d bytes", resp.StatusCode, len(body))
	}
	// Invalid names are 404, never presigned.
	for _, p := range []string{"/audio/", "/audio/..%2Fx.mp3", "/audio/" + strings.Repeat("f", 64) + ".exe"} {
		resp, err := noFollow.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestR2Credentials: wrong credentials fail at NewR2, and the secret is in
// no message.
func TestR2Credentials(t *testing.T) {
	s := startS3(t, "")
	testR2(t, s, nil) // creates the bucket
	_, err := NewR2(context.Background(), R2Config{
		Bucket: "relay-media", AccessKeyID: testAccessKey, SecretAccessKey: "wrong-secret-value-123",
		PublicURL: "https://media.example.com", Endpoint: s.Endpoint,
	})
	if err == nil {
		t.Fatal("NewR2 with a wrong secret succeeded")
	}
	if strings.Contains(err.Error(), "wrong-secret-value-123") {
		t.Fatalf("error holds the secret: %v", err)
	}
}

func TestR2ConfigRedacted(t *testing.T) {
	cfg := R2Config{
		AccountID: "0123456789abcdef0123456789abcdef", Bucket: "relay",
		AccessKeyID: "AKIAEXAMPLEKEYID9876", SecretAccessKey: "s3cr3t-SECRET-value",
		PublicURL: "https://media.example.com",
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("storage", "r2", cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("storage", "r2", cfg)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"%s":   fmt.Sprintf("%s", cfg),
		"ptr":  fmt.Sprintf("%v", &cfg),
		"slog": logged.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, "s3cr3t") || strings.Contains(out, "SECRET") || strings.Contains(out, "AKIAEXAMPLE") {
			t.Errorf("%s leaks: %s", name, out)
		}
		if !strings.Contains(out, "9876") || !strings.Contains(out, "relay") {
			t.Errorf("%s lost what may be shown: %s", name, out)
		}
	}
}

func TestNewR2Config(t *testing.T) {
	good := R2Config{AccountID: "abc123", Bucket: "relay-media", AccessKeyID: "k", SecretAccessKey: "config-test-secret", PublicURL: "https://m.example.com"}
	tests := []struct {
		name string
		mod  func(*R2Config)
	}{
		{"no account", func(c *R2Config) { c.AccountID = "" }},
		{"account with a dot", func(c *R2Config) { c.AccountID = "evil.com/x" }},
		{"bad bucket", func(c *R2Config) { c.Bucket = "Relay_Media" }},
		{"short bucket", func(c *R2Config) { c.Bucket = "r" }},
		{"no secret", func(c *R2Config) { c.SecretAccessKey = "" }},
		{"no public url", func(c *R2Config) { c.PublicURL = "" }},
		{"signed without service url", func(c *R2Config) { c.SignedURLs = true }},
		{"ttl past 7 days", func(c *R2Config) {
			c.SignedURLs, c.ServiceURL, c.URLTTL = true, "https://relay.example.com", 8*24*time.Hour
		}},
		{"ttl under a second", func(c *R2Config) {
			c.SignedURLs, c.ServiceURL, c.URLTTL = true, "https://relay.example.com", time.Millisecond
		}},
		{"bad endpoint", func(c *R2Config) { c.Endpoint = "ftp://x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			if _, err := NewR2(context.Background(), cfg); err == nil {
				t.Fatal("NewR2 accepted it")
			} else if strings.Contains(err.Error(), cfg.SecretAccessKey) && cfg.SecretAccessKey != "" {
				t.Fatalf("error holds the secret: %v", err)
			}
		})
	}
	// Nothing listening at the endpoint: NewR2 fails at start.
	cfg := good
	cfg.Endpoint = "http://127.0.0.1:1"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := NewR2(ctx, cfg); err == nil {
		t.Fatal("NewR2 with nothing listening succeeded")
	}
}
