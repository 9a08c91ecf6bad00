package publish

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/relaymusic/relay/storage"
)

// versitygwBin is the S3 server storage's tests build into .cache/ (see
// storage/s3server_test.go); publish's R2 test runs only once it is there.
const versitygwBin = "../.cache/versitygw-v1.8.0/versitygw"

// startVersitygw starts versitygw's posix backend on a free loopback port,
// stopped (SIGKILL) at the test's end.
func startVersitygw(t *testing.T) (endpoint, root string) {
	t.Helper()
	if _, err := os.Stat(versitygwBin); err != nil {
		t.Skip("versitygw is not built: go test ./storage/ builds it into .cache/")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	root = t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "relay-media"), 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(versitygwBin, "--access", "publishtest", "--secret", "publish-test-secret-0123456789",
		"--port", addr, "--region", "auto", "--quiet", "posix", root)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	endpoint = "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(endpoint + "/"); err == nil {
			resp.Body.Close()
			return endpoint, root
		}
	}
	t.Fatalf("versitygw not answering: %s", log.String())
	return "", ""
}

// TestPublishR2: the same publish into R2 (a real S3 server on loopback)
// with signed URLs: the record's audioUrl is this service's /audio/{key},
// which redirects to a presigned GET that answers a Range request; the PDS
// down leaves no object in the bucket; a delete removes it.
func TestPublishR2(t *testing.T) {
	endpoint, _ := startVersitygw(t)
	e := newEnv(t, envOptions{remote: func(origin string) (storage.Store, http.Handler) {
		r, err := storage.NewR2(context.Background(), storage.R2Config{
			Bucket: "relay-media", AccessKeyID: "publishtest", SecretAccessKey: "publish-test-secret-0123456789",
			SignedURLs: true, URLTTL: time.Minute, ServiceURL: origin, Endpoint: endpoint,
		})
		if err != nil {
			t.Fatal(err)
		}
		return r, r.Handler()
	}})
	u := e.login(t, "pubr2")
	exists := func(key string) bool {
		ok, err := e.store.Exists(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	wav := sineWAV(1, 321)
	key := "audio/" + sha(wav) + ".wav"
	a := e.publish(t, u.token, "", upload{fields: map[string]string{"title": "Bucket Song", "artist": "a"}, file: wav})
	if a.status != 200 || a.str("audioUrl") != e.url+"/"+key {
		t.Fatalf("publish: %d %v", a.status, a.body)
	}
	if !exists(key) {
		t.Fatal("not in the bucket")
	}
	e.searchable(t, "Bucket Song", a.str("uri"))
	req, _ := http.NewRequest("GET", a.str("audioUrl"), nil)
	req.Header.Set("Range", "bytes=0-3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(got) != "RIFF" {
		t.Errorf("ranged GET through the signed redirect: %d %q", resp.StatusCode, got)
	}
	if d := e.delete(t, u.token, "/tracks/"+rkeyOf(a.str("uri"))); d.status != 200 {
		t.Fatalf("delete: %d %v", d.status, d.body)
	}
	if exists(key) {
		t.Error("the object stayed in the bucket after the delete")
	}

	// The PDS down: the object put before the write leaves the bucket.
	if err := e.nw.StopPDS(); err != nil {
		t.Fatal(err)
	}
	other := sineWAV(1, 123)
	a = e.publish(t, u.token, "", upload{fields: map[string]string{"title": "Lost", "artist": "a"}, file: other})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.nw.StartPDS(ctx); err != nil {
		t.Fatal(err)
	}
	if a.status != http.StatusBadGateway {
		t.Errorf("publish with the PDS down: %d %v", a.status, a.body)
	}
	if k := fmt.Sprintf("audio/%s.wav", sha(other)); exists(k) {
		t.Errorf("%s left in the bucket", k)
	}
}
