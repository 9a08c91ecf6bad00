package storage

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The tests' S3 server: versitygw's posix backend, a real S3 gateway
// written in Go, built from the Go module proxy once into the repo's
// .cache/ (gitignored) and started per test on a free loopback port.
const (
	versitygwModule  = "github.com/versity/versitygw/cmd/versitygw"
	versitygwVersion = "v1.8.0"
	testAccessKey    = "relaytestaccess"
	testSecretKey    = "relay-test-secret-do-not-log-0123456789"
)

var (
	versitygwOnce sync.Once
	versitygwPath string
	versitygwErr  error
)

// versitygw is the path of the built binary, built at the first call.
func versitygw(t testing.TB) string {
	t.Helper()
	versitygwOnce.Do(func() {
		cache, err := filepath.Abs(filepath.Join("..", ".cache", "versitygw-"+versitygwVersion))
		if err != nil {
			versitygwErr = err
			return
		}
		bin := filepath.Join(cache, "versitygw")
		if _, err := os.Stat(bin); err == nil {
			versitygwPath = bin
			return
		}
		// Installed into a temp dir, then renamed: a build cut off never
		// leaves a half binary at bin.
		if err := os.MkdirAll(cache, 0o755); err != nil {
			versitygwErr = err
			return
		}
		removeStaleBuilds(cache)
		tmp, err := os.MkdirTemp(cache, "build-")
		if err != nil {
			versitygwErr = err
			return
		}
		defer os.RemoveAll(tmp)
		// The first build takes minutes (about 4 CPU-minutes from a cold
		// cache): it stops short of the test binary's -timeout, with a
		// message, rather than dying in the timeout's panic.
		ctx := context.Background()
		if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
			deadline, ok := dt.Deadline()
			if !ok {
				deadline = time.Now().Add(24 * time.Hour)
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
			defer cancel()
		}
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "install", versitygwModule+"@"+versitygwVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=")
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			versitygwErr = fmt.Errorf("building versitygw %s: not done after %s, near the test timeout: run with -timeout 30m once (make test does), later runs use .cache/", versitygwVersion, time.Since(start).Round(time.Second))
			return
		}
		if err != nil {
			versitygwErr = fmt.Errorf("building versitygw: %w\n%s", err, out)
			return
		}
		if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
			versitygwErr = err
			return
		}
		fmt.Fprintf(os.Stderr, "storage: built versitygw %s in %s\n", versitygwVersion, time.Since(start).Round(time.Second))
		versitygwPath = bin
	})
	if versitygwErr != nil {
		t.Fatal(versitygwErr)
	}
	return versitygwPath
}

// removeStaleBuilds removes the temp dirs of builds cut off (by a timeout's
// panic) over an hour ago.
func removeStaleBuilds(cache string) {
	old, _ := filepath.Glob(filepath.Join(cache, "build-*"))
	for _, dir := range old {
		if info, err := os.Stat(dir); err == nil && time.Since(info.ModTime()) > time.Hour {
			os.RemoveAll(dir)
		}
	}
}

// s3Server is a running versitygw.
type s3Server struct {
	Endpoint string
	Root     string
	cmd      *exec.Cmd
	log      *bytes.Buffer
	done     chan struct{}
}

// startS3 starts versitygw on root (a temp dir if empty); it is stopped at
// the test's end. A port lost to another process between picking and
// binding it is tried again on a fresh one.
func startS3(t testing.TB, root string) *s3Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an S3 server (versitygw)")
	}
	bin := versitygw(t)
	if root == "" {
		root = t.TempDir()
	}
	var lastErr error
	for range 3 {
		s, err := tryStartS3(bin, root)
		if err == nil {
			t.Cleanup(s.Kill)
			return s
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func tryStartS3(bin, root string) (*s3Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &s3Server{Endpoint: "http://" + addr, Root: root, log: &bytes.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "--access", testAccessKey, "--secret", testSecretKey,
		"--port", addr, "--region", "auto", "--quiet", "posix", root)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return nil, fmt.Errorf("versitygw exited at start: %s", s.log)
		default:
		}
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Kill()
	return nil, fmt.Errorf("versitygw not answering at %s: %s", addr, s.log)
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *s3Server) Kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// testR2 is an R2 store on s, its bucket created.
func testR2(t testing.TB, s *s3Server, mod func(*R2Config)) *R2 {
	t.Helper()
	cfg := R2Config{
		Bucket: "relay-media", AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey,
		PublicURL: "https://media.example.com", Endpoint: s.Endpoint,
	}
	if mod != nil {
		mod(&cfg)
	}
	if err := os.MkdirAll(filepath.Join(s.Root, cfg.Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := NewR2(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewR2: %v\n%s", err, s.log)
	}
	return r
}
