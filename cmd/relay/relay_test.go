package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// relayBin is the relay binary built once for the tests that run it as a
// process (so SIGKILL is a real crash).
var relayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relay-bin-")
	if err != nil {
		panic(err)
	}
	relayBin = filepath.Join(dir, "relay")
	if out, err := exec.Command("go", "build", "-o", relayBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building relay: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `relay serve`.
type proc struct {
	cmd  *exec.Cmd
	addr string
	log  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startRelay runs relay serve on a free loopback port and waits until it answers.
func startRelay(t testing.TB, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	p := &proc{addr: addr, log: &syncBuffer{}, done: make(chan struct{})}
	full := append([]string{"--log-format", "json", "serve", "--listen", addr}, args...)
	p.cmd = exec.Command(relayBin, full...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := p.health(); err == nil {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("relay serve exited at start:\n%s", p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay serve did not answer:\n%s", p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) kill(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

type healthBody struct {
	Version string `json:"version"`
	Ingest  struct {
		Connected bool  `json:"connected"`
		Cursor    int64 `json:"cursor"`
	} `json:"ingest"`
	Index struct {
		AppliedSeq int64 `json:"appliedSeq"`
		OutboxSeq  int64 `json:"outboxSeq"`
	} `json:"index"`
	Warnings []string `json:"warnings"`
}

func (p *proc) health() (healthBody, error) {
	var h healthBody
	err := p.getJSON("/xrpc/_health", &h)
	return h, err
}

func (p *proc) getJSON(path string, v any) error {
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// waitCaughtUp waits until the committed cursor reaches last and the search
// index has applied the whole outbox.
func (p *proc) waitCaughtUp(t testing.TB, last int64, timeout time.Duration) healthBody {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h, err := p.health()
		if err == nil && h.Ingest.Cursor >= last && h.Index.AppliedSeq == h.Index.OutboxSeq {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up to %d after %s: %+v %v\n%s", last, timeout, h, err, p.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metrics scrapes /metrics into series -> value (series as written in the
// exposition, labels included).
func (p *proc) metrics() (map[string]float64, error) {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
