package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/relaymusic/relay/appview"
	"github.com/relaymusic/relay/storage"
	"github.com/relaymusic/relay/validate"
)

// runStorageFlags runs openMediaStore under args as serve's flags parse
// them, on ln.
func runStorageFlags(t *testing.T, ln net.Listener, args ...string) (mediaStore, error) {
	t.Helper()
	var store mediaStore
	var openErr error
	app := &cli.App{
		Flags: append([]cli.Flag{dataDirFlag, publicURLFlag}, storageFlags...),
		Action: func(c *cli.Context) error {
			store, openErr = openMediaStore(c.Context, c, c.String("data-dir"), ln, slog.New(slog.DiscardHandler))
			return nil
		},
	}
	if err := app.RunContext(context.Background(), append([]string{"relay"}, args...)); err != nil {
		t.Fatal(err)
	}
	return store, openErr
}

// TestMediaStoreWiring: the default store is local under the data dir, at
// the listener's loopback origin, and the appview serves it at /audio/ and
// /art/ only.
func TestMediaStoreWiring(t *testing.T) {
	t.Cleanup(func() { validate.TrustOrigin("") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	store, err := runStorageFlags(t, ln, "--data-dir", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("ID3 a short mp3")
	key, _ := storage.MakeKey("audio", sha256.Sum256(data), "mp3")
	if err := store.Put(context.Background(), key.String(), bytes.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "media", key.String())); err != nil {
		t.Fatalf("not under {data-dir}/media: %v", err)
	}
	url := store.URL(key.String())
	if want := "http://" + ln.Addr().String() + "/" + key.String(); url != want {
		t.Fatalf("URL = %q, want %q", url, want)
	}
	// Media at the loopback default is the instance's own: valid in records.
	if !validate.IsMediaURL(url) {
		t.Fatalf("%s is not a valid media URL", url)
	}

	srv := httptest.NewUnstartedServer(appview.New(appview.Config{Media: store.Handler()}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Fatalf("GET %s: %d %q %q", url, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, p := range []string{"/audio/", "/art/", "/audio/../relay.db", "/media/" + key.String()} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && bytes.Contains(body, data) {
			t.Fatalf("GET %s served the media", p)
		}
	}
}

func TestMediaStoreFlags(t *testing.T) {
	t.Cleanup(func() { validate.TrustOrigin("") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantURL string
	}{
		{"public url", []string{"--public-url", "https://relay.example.com"}, "", "https://relay.example.com/"},
		{"unknown kind", []string{"--storage", "s3"}, "want local or r2", ""},
		{"r2 without account", []string{"--storage", "r2", "--r2-bucket", "relay"}, "account id", ""},
		{"r2 without public url", []string{"--storage", "r2", "--r2-account-id", "abc", "--r2-bucket", "relay", "--r2-access-key-id", "k", "--r2-secret-access-key", "flag-secret"}, "public url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := runStorageFlags(t, ln, append([]string{"--data-dir", t.TempDir()}, tt.args...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "flag-secret") {
					t.Fatalf("err = %v, want one about %q (without the secret)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			key := "art/" + strings.Repeat("ab", 32) + ".png"
			if got := store.URL(key); got != tt.wantURL+key {
				t.Fatalf("URL = %q", got)
			}
		})
	}
}
