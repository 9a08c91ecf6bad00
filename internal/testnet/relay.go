package testnet

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // the relay's own database, to add the PDS
)

// Upstream names what Jetstream reads.
type Upstream string

const (
	// FromRelay: PDS → relay → Jetstream, as on the real network (default).
	FromRelay Upstream = "relay"
	// FromPDS: Jetstream reads the PDS firehose directly.
	FromPDS Upstream = "pds"
)

// UpstreamEnv overrides Options.JetstreamFrom when set ("relay" or "pds"),
// so a whole suite can be run against either topology.
const UpstreamEnv = "TESTNET_JETSTREAM_FROM"

// pdsHost is the PDS as the relay names it: the relay only accepts DNS
// names (and "localhost" with a port), and it checks that each account's DID
// document points at the host the event came from, which is
// http://localhost:P for a PDS with PDS_HOSTNAME=localhost.
func (n *Network) pdsHost() string { return fmt.Sprintf("localhost:%d", n.pdsPort) }

// startRelay starts indigo's relay on its data dir and waits until it
// answers. The caller holds n.mu.
func (n *Network) startRelay(ctx context.Context) error {
	if n.closed {
		return errors.New("testnet: network is closed")
	}
	if n.relay != nil && !n.relay.exited() {
		return errors.New("testnet: relay is already running")
	}
	dir := filepath.Join(n.Dir, "relay")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("testnet: create relay dir: %w", err)
	}
	// Every URL is given, so that nothing defaults to a public host.
	args := []string{
		"--plc-host", n.PLCURL,
		"--admin-password", n.relayAdminPassword,
		"--log-level", "info",
		"serve",
		"--db-url", "sqlite://" + filepath.Join(dir, "relay.sqlite"),
		"--persist-dir", filepath.Join(dir, "persist"),
		"--bind", fmt.Sprintf("127.0.0.1:%d", n.relayPort),
		"--metrics-listen", fmt.Sprintf("127.0.0.1:%d", n.relayMetricsPort),
		// Nobody asks it to crawl anything; the PDS announces nothing.
		"--disable-request-crawl",
		// Tests make hundreds of accounts on one PDS (the default is 100).
		"--default-account-limit", "1000000",
	}
	launch := func() error {
		// The working directory is its own: it reads a .env file from there.
		p, err := startProc("relay", filepath.Join(n.Dir, "relay.log"), dir, childEnv(), n.inst.relay, args...)
		if err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
		n.relay = p
		if err := p.waitHTTP(ctx, n.RelayURL+"/xrpc/_health", false, n.opts.RelayTimeout); err != nil {
			_ = p.stop(syscall.SIGKILL, time.Second)
			return fmt.Errorf("testnet: %w", err)
		}
		return nil
	}
	if err := launch(); err != nil {
		return err
	}
	if !n.relaySubscribed {
		// First start: subscribe it to the PDS. Its requestCrawl checks the
		// host with a client that refuses private addresses (no flag turns
		// that off), so the host row goes into its database directly, as
		// requestCrawl would write it, and the relay is started again: it
		// subscribes to its active hosts at start (plain ws for a NoSSL host,
		// which it dials without the public-address check).
		// Its health answer can come before its schema is in the file: a
		// stop then left no host table (a CI run's "no such table: host").
		dbPath := filepath.Join(dir, "relay.sqlite")
		if err := n.waitRelay(ctx, "ready with its host table", func() (bool, error) { return hasHostTable(dbPath) }); err != nil {
			return err
		}
		if err := n.relay.stop(syscall.SIGTERM, 15*time.Second); err != nil {
			return fmt.Errorf("testnet: stop relay: %w", err)
		}
		if err := addRelayHost(dbPath, n.pdsHost()); err != nil {
			return err
		}
		if err := launch(); err != nil {
			return err
		}
		n.relaySubscribed = true
	}
	// Until the relay holds the PDS connection, a write would be missed:
	// a new host is read from its live tip.
	return n.waitRelay(ctx, "subscribed to the pds", func() (bool, error) {
		var hosts []string
		if err := n.relayAdmin(ctx, http.MethodGet, "/admin/subs/getUpstreamConns", nil, &hosts); err != nil {
			return false, err
		}
		return slices.Contains(hosts, n.pdsHost()), nil
	})
}

// addRelayHost writes the row the relay's requestCrawl writes for a new
// host (its table "host", created by the relay's first start), trusted and
// without an account limit.
func addRelayHost(dbPath, hostname string) error {
	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		return fmt.Errorf("testnet: open relay db: %w", err)
	}
	defer db.Close()
	now := time.Now().UTC()
	_, err = db.Exec(`INSERT INTO host (created_at, updated_at, hostname, no_ssl, account_limit, trusted, status, last_seq, account_count)
		VALUES (?, ?, ?, true, 1000000, true, 'active', -1, 0)`, now, now, hostname)
	if err != nil {
		return fmt.Errorf("testnet: add %s to the relay's hosts: %w", hostname, err)
	}
	return nil
}

// hasHostTable reports whether the relay's database has its host table.
func hasHostTable(dbPath string) (bool, error) {
	db, err := sql.Open("sqlite3", dbPath+"?mode=ro")
	if err != nil {
		return false, fmt.Errorf("testnet: open relay db: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'host'`).Scan(&n); err != nil {
		// Not made yet, or locked by the relay's migration: ask again.
		return false, nil
	}
	return n == 1, nil
}

// waitRelay polls cond until it holds, for at most RelayTimeout.
func (n *Network) waitRelay(ctx context.Context, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, n.opts.RelayTimeout)
	defer cancel()
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: relay not %s within %s (last error %v); log %s:\n%s",
				what, n.opts.RelayTimeout, last, n.relay.logPath, tailFile(n.relay.logPath, 30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// relayAdmin calls the relay's admin API (basic auth) and decodes a JSON
// answer into out, if out is not nil.
func (n *Network) relayAdmin(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, n.RelayURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("admin", n.relayAdminPassword)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(req, out)
}

func doJSON(req *http.Request, out any) error {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// relayHasConsumer reports whether a firehose consumer whose user agent
// contains agent is connected to the relay.
func (n *Network) relayHasConsumer(ctx context.Context, agent string) (bool, error) {
	var consumers []struct {
		UserAgent string `json:"user_agent"`
	}
	if err := n.relayAdmin(ctx, http.MethodGet, "/admin/consumers/list", nil, &consumers); err != nil {
		return false, err
	}
	for _, c := range consumers {
		if strings.Contains(c.UserAgent, agent) {
			return true, nil
		}
	}
	return false, nil
}

// startCollectionDir starts indigo's collection directory following the
// relay, and waits until it answers and (when the relay runs) is connected
// to it. The caller holds n.mu.
func (n *Network) startCollectionDir(ctx context.Context) error {
	if n.closed {
		return errors.New("testnet: network is closed")
	}
	if n.collDir != nil && !n.collDir.exited() {
		return errors.New("testnet: collection directory is already running")
	}
	dir := filepath.Join(n.Dir, "collectiondir")
	if err := os.MkdirAll(filepath.Join(dir, "dau"), 0o755); err != nil {
		return fmt.Errorf("testnet: create collectiondir dir: %w", err)
	}
	args := []string{"serve",
		"--api-listen", fmt.Sprintf("127.0.0.1:%d", n.collDirPort),
		"--metrics-listen", fmt.Sprintf("127.0.0.1:%d", n.collDirMetricsPort),
		"--pebble", filepath.Join(dir, "pebble"),
		"--dau-directory", filepath.Join(dir, "dau"),
		// Its first start reads the relay from the live tip; later ones
		// resume at the sequence it saved.
		"--upstream", fmt.Sprintf("ws://127.0.0.1:%d", n.relayPort),
		"--admin-token", n.collDirToken,
	}
	env := childEnv()
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "COLLECTIONS_") })
	// The directory sleeps 5 s, then 6, 7, ... after each failed dial of its
	// upstream, so a dial that failed on a loaded machine can leave it
	// asleep past the deadline (seen once in CI: connected to nothing for
	// 30 s). A second start dials afresh.
	var err error
	for try := 1; try <= 2; try++ {
		if err = n.startCollectionDirOnce(ctx, dir, env, args); err == nil {
			return nil
		}
		slog.WarnContext(ctx, "testnet: collection directory did not come up; starting it again", "try", try, "err", err)
	}
	return err
}

// startCollectionDirOnce starts the directory and waits for it, killing it
// if it does not come up.
func (n *Network) startCollectionDirOnce(ctx context.Context, dir string, env, args []string) error {
	logPath := filepath.Join(n.Dir, "collectiondir.log")
	p, err := startProc("collectiondir", logPath, dir, env, n.inst.collDir, args...)
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	n.collDir = p
	if err := p.waitHTTP(ctx, n.CollectionDirURL+"/_health", false, n.opts.RelayTimeout); err != nil {
		_ = p.stop(syscall.SIGKILL, time.Second)
		return fmt.Errorf("testnet: %w", err)
	}
	if n.relay == nil || n.relay.exited() {
		return nil // it redials by itself when the relay is back
	}
	err = n.waitRelay(ctx, "serving the collection directory", func() (bool, error) {
		return n.relayHasConsumer(ctx, "collectiondir")
	})
	if err != nil {
		_ = p.stop(syscall.SIGKILL, time.Second)
		return fmt.Errorf("%w\ncollection directory log %s:\n%s", err, logPath, tailFile(logPath, 30))
	}
	return nil
}

// StopRelay stops the relay gracefully (it saves its PDS cursor). Jetstream,
// when it reads the relay, exits with it, so it is stopped first and
// StartRelay restarts it. The collection directory keeps running and
// answering from what it has; it redials the relay by itself.
func (n *Network) StopRelay() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopRelayLocked()
}

func (n *Network) stopRelayLocked() error {
	if n.jsFrom == FromRelay {
		if n.js != nil && !n.js.exited() {
			n.jsWanted = true
		}
		if err := n.js.stop(syscall.SIGTERM, 15*time.Second); err != nil {
			return fmt.Errorf("testnet: stop jetstream: %w", err)
		}
	}
	if err := n.relay.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		return fmt.Errorf("testnet: stop relay: %w", err)
	}
	return nil
}

// StartRelay starts the relay again on the same port and data; it resumes
// reading the PDS where it stopped. Jetstream is restarted too if StopRelay
// stopped it.
func (n *Network) StartRelay(ctx context.Context) error {
	n.mu.Lock()
	err := n.startRelay(ctx)
	restartJS := n.jsWanted && n.jsFrom == FromRelay && (n.js == nil || n.js.exited())
	n.mu.Unlock()
	if err != nil {
		return err
	}
	if restartJS {
		return n.StartJetstream(ctx)
	}
	return nil
}

// RelayRunning reports whether the relay process is alive.
func (n *Network) RelayRunning() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.relay != nil && !n.relay.exited()
}

// StopCollectionDir stops the collection directory gracefully; its data
// (and the relay sequence it reached) is kept for StartCollectionDir.
func (n *Network) StopCollectionDir() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.collDir.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		return fmt.Errorf("testnet: stop collection directory: %w", err)
	}
	return nil
}

// StartCollectionDir starts the collection directory again on the same
// port and data.
func (n *Network) StartCollectionDir(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.startCollectionDir(ctx)
}

// BootstrapCollectionDir asks the collection directory to crawl the PDS
// (com.atproto.sync.listRepos, then describeRepo per repo for its
// collections), as an operator bootstraps a new directory. The crawl runs
// in the background; it returns once it has been accepted.
func (n *Network) BootstrapCollectionDir(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"hostname": n.PDSURL})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.CollectionDirURL+"/admin/pds/requestCrawl", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("testnet: bootstrap collection directory: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+n.collDirToken)
	req.Header.Set("Content-Type", "application/json")
	if err := doJSON(req, nil); err != nil {
		return fmt.Errorf("testnet: bootstrap collection directory: %w", err)
	}
	return nil
}
