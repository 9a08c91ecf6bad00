// Package relaytest runs the relay binary as a real process for tests: built
// once, started on a free loopback port, asked over HTTP, stopped with
// SIGTERM or crashed with SIGKILL. Tests in cmd/relay and e2e share it.
package relaytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Build compiles cmd/relay into dir and returns the binary's path.
func Build(dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "relay")
	cmd := exec.Command(goTool(), "build", "-o", bin, "./cmd/relay")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building relay: %w\n%s", err, out)
	}
	return bin, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// Proc is a running `relay serve`.
type Proc struct {
	Addr string
	Cmd  *exec.Cmd
	Log  *Log
	done chan struct{}
	http *http.Client
}

// Start runs `relay serve` with args on a free loopback port and waits until
// /xrpc/_health answers. The process is killed at cleanup, and its log tail
// printed if the test failed.
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{
		Addr: freeAddr(t),
		Log:  &Log{},
		done: make(chan struct{}),
		http: &http.Client{Timeout: 10 * time.Second},
	}
	// No background handle lookups unless a test asks (--resolve-handles):
	// the default PLC directory is on the internet.
	full := append([]string{"--log-format", "json", "serve", "--listen", p.Addr, "--resolve-handles=false"}, args...)
	p.Cmd = exec.Command(bin, full...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Log, p.Log
	// Never outlive the test binary.
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("starting relay serve: %v", err)
	}
	go func() { _ = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Signal(syscall.SIGKILL, 10*time.Second)
		if t.Failed() {
			t.Logf("relay serve (%s) log tail:\n%s", p.Addr, p.Log.Tail(60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := p.Health(); err == nil {
			return p
		}
		if p.Exited() {
			t.Fatalf("relay serve exited at start:\n%s", p.Log)
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay serve did not answer /xrpc/_health within 30s:\n%s", p.Log)
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig and waits up to grace for the process to exit, then kills
// it. It reports whether the process exited within grace.
func (p *Proc) Signal(sig syscall.Signal, grace time.Duration) bool {
	if p.Exited() {
		return true
	}
	_ = p.Cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return true
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		<-p.done
		return false
	}
}

// Stop ends relay serve with SIGTERM and checks it exits in time, cleanly.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	if !p.Signal(syscall.SIGTERM, 20*time.Second) {
		t.Errorf("relay serve did not exit within 20s of SIGTERM; killed")
		return
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("relay serve exited with code %d after SIGTERM:\n%s", code, p.Log.Tail(20))
	}
}

// Crash SIGKILLs relay serve.
func (p *Proc) Crash(t testing.TB) {
	t.Helper()
	if !p.Signal(syscall.SIGKILL, 10*time.Second) {
		t.Fatalf("relay serve still running 10s after SIGKILL")
	}
}

// Get fetches path and fails on any status but 200.
func (p *Proc) Get(path string) ([]byte, error) {
	resp, err := p.http.Get("http://" + p.Addr + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, b)
	}
	return b, nil
}

// GetJSON fetches path and decodes its JSON body into v.
func (p *Proc) GetJSON(path string, v any) error {
	b, err := p.Get(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: decoding %s: %w", path, b, err)
	}
	return nil
}

// Health is the body of /xrpc/_health.
type Health struct {
	Version string `json:"version"`
	Ingest  struct {
		Host             string  `json:"host"`
		Connected        bool    `json:"connected"`
		Cursor           int64   `json:"cursor"`
		CursorAgeSeconds float64 `json:"cursorAgeSeconds"`
	} `json:"ingest"`
	Index struct {
		AppliedSeq int64 `json:"appliedSeq"`
		OutboxSeq  int64 `json:"outboxSeq"`
	} `json:"index"`
	Warnings []string `json:"warnings"`
}

// Health asks /xrpc/_health.
func (p *Proc) Health() (Health, error) {
	var h Health
	err := p.GetJSON("/xrpc/_health", &h)
	return h, err
}

// WaitCaughtUp waits until the committed cursor reaches last and the search
// index has applied the whole outbox.
func (p *Proc) WaitCaughtUp(t testing.TB, last int64, timeout time.Duration) Health {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h, err := p.Health()
		if err == nil && h.Ingest.Cursor >= last && h.Index.AppliedSeq == h.Index.OutboxSeq {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up to %d after %s: %+v %v", last, timeout, h, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Families scrapes /metrics and parses it with Prometheus' own text parser,
// by metric family name.
func (p *Proc) Families() (map[string]*dto.MetricFamily, error) {
	b, err := p.Get("/metrics")
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parsing /metrics: %w", err)
	}
	return families, nil
}

// Sample scrapes /metrics and returns the value of the series name{labels}
// (labels as "k", "v", ...): a counter's or gauge's value, a histogram's
// count. A series not exported is 0.
func (p *Proc) Sample(name string, labels ...string) (float64, error) {
	families, err := p.Families()
	if err != nil {
		return 0, err
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	mf, ok := families[name]
	if !ok {
		return 0, nil
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if !maps.Equal(got, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), nil
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), nil
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), nil
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), nil
		}
	}
	return 0, nil
}

// Log collects a process's output, safe for concurrent use.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Tail is the last n lines.
func (l *Log) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
