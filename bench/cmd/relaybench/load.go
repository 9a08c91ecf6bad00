package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadResult is one fixed-concurrency, fixed-duration run.
type loadResult struct {
	Requests, Errors int
	Elapsed          time.Duration
	P50, P99         time.Duration
}

func (r loadResult) Rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

func newClient(conc int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conc * 2,
			MaxIdleConnsPerHost: conc * 2,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// runLoad has conc workers GET urls round-robin (each from its own offset)
// for d, and reports requests/s and latency percentiles of the answers.
func runLoad(ctx context.Context, client *http.Client, urls []string, conc int, d time.Duration) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		lats []time.Duration
		errs int
	)
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<14)
			bad := 0
			for i := w * len(urls) / conc; ctx.Err() == nil; i++ {
				u := urls[i%len(urls)]
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := loadResult{Requests: len(lats), Errors: errs, Elapsed: time.Since(start)}
	r.P50, r.P99 = percentiles(lats)
	return r
}

func percentiles(lats []time.Duration) (p50, p99 time.Duration) {
	if len(lats) == 0 {
		return 0, 0
	}
	slices.Sort(lats)
	at := func(p float64) time.Duration { return lats[min(len(lats)-1, int(p*float64(len(lats))))] }
	return at(0.50), at(0.99)
}

// trivialServer answers every request with the same small JSON: the
// ceiling of HTTP on loopback with this client, on this machine.
func trivialServer() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("trivial server: %w", err)
	}
	body := []byte(`{"feed":[],"cursor":"trivial"}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// relayProc is a running `relay serve`.
type relayProc struct {
	cmd     *exec.Cmd
	base    string
	pprof   string
	started time.Duration // exec to first 200 from /xrpc/_health
	done    chan struct{}
	logf    *os.File
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startRelay runs relay serve on dataDir with no upstream and waits until
// /xrpc/_health answers.
func startRelay(ctx context.Context, bin, dataDir, logPath string) (*relayProc, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("relay log: %w", err)
	}
	p := &relayProc{base: "http://" + addr, pprof: "http://" + pp, done: make(chan struct{}), logf: logf}
	p.cmd = exec.Command(bin, "--log-format", "json", "serve", "--listen", addr, "--data-dir", dataDir,
		"--jetstream-url", "ws://127.0.0.1:1/subscribe", "--pprof-listen", pp)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting relay serve: %w", err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.base + "/xrpc/_health")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.started = time.Since(start)
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("relay serve exited at start (log: %s)", logPath)
		case <-ctx.Done():
			p.stop()
			return nil, fmt.Errorf("waiting for relay serve: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(start) > 10*time.Minute {
			p.stop()
			return nil, fmt.Errorf("relay serve did not answer in 10m (log: %s)", logPath)
		}
	}
}

func (p *relayProc) stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.logf.Close()
}

// memory reads VmRSS and VmHWM (bytes) of pid.
func memory(pid int) (rss, hwm int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// cpuProfile fetches a CPU profile of secs seconds from relay's pprof
// listener into path.
func cpuProfile(ctx context.Context, base string, secs int, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), nil)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	resp, err := (&http.Client{Timeout: time.Duration(secs+30) * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: status %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	return f.Close()
}

// profileTop is `go tool pprof -top` of a profile, cut to n entries.
func profileTop(ctx context.Context, bin, path string, n int) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount="+strconv.Itoa(n), bin, path).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w", path, err)
	}
	// Keep the sample summary and the table, not the file and build id.
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "File:") || strings.HasPrefix(t, "Build ID:") || strings.HasPrefix(t, "Type:") || strings.HasPrefix(t, "Time:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n"), nil
}

// dirSize sums the sizes of the files under path (or of path itself).
func dirSize(path string) int64 {
	var n int64
	filepath.Walk(path, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// copyDir copies the regular files of src into dst, recursively.
func copyDir(src, dst string) error {
	return filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
