package testnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
)

// Options configure Start.
type Options struct {
	// RepoRoot is the module root holding go.mod and internal/testnet/pds/.
	// Empty: found by walking up from the working directory.
	RepoRoot string
	// Log receives progress lines (install steps with their durations,
	// processes started). Nil: discarded.
	Log io.Writer
	// Timeouts for each process to answer its health check after launch.
	// Zero: defaults (PLC 30 s, PDS 60 s, Jetstream 30 s, relay and
	// collection directory 30 s).
	PLCTimeout, PDSTimeout, JetstreamTimeout, RelayTimeout time.Duration
	// JetstreamFrom is what Jetstream reads: FromRelay (the default) or
	// FromPDS. The environment variable TESTNET_JETSTREAM_FROM overrides it.
	JetstreamFrom Upstream
}

// Step is one timed part of a bring-up.
type Step struct {
	Name string
	Took time.Duration
}

// Network is a running local ATProto network: a PLC directory, one PDS,
// indigo's relay reading the PDS firehose, a Jetstream server and indigo's
// collection directory reading the relay. All listen on 127.0.0.1 only.
type Network struct {
	PLCURL       string // http://localhost:P (the PDS resolves did:plc there)
	PDSURL       string // http://127.0.0.1:P
	JetstreamURL string // ws://127.0.0.1:P/subscribe
	// RelayURL is indigo's relay (subscribeRepos, listRepos, admin API).
	RelayURL string // http://127.0.0.1:P
	// CollectionDirURL is indigo's collection directory: the service behind
	// com.atproto.sync.listReposByCollection on the public relay host.
	CollectionDirURL string // http://127.0.0.1:P
	// JetstreamFrom is what Jetstream reads (the relay unless told otherwise).
	JetstreamFrom Upstream
	// AdminPassword is the PDS admin password (for com.atproto.admin.*).
	AdminPassword string
	// Dir is the network's temporary directory: data and process logs. It is
	// removed by Close.
	Dir string
	// Steps are the timed parts of the bring-up, install steps included.
	Steps []Step
	// StartupTime is how long Start took in all.
	StartupTime time.Duration

	opts Options
	log  *slog.Logger
	inst *install

	plcPort, pdsPort, jsPort, jsMetricsPort int
	relayPort, relayMetricsPort             int
	collDirPort, collDirMetricsPort         int
	pdsEnv                                  []string
	relayAdminPassword, collDirToken        string
	jsFrom                                  Upstream

	mu        sync.Mutex // guards the procs and the restart state
	plc       *proc
	pds       *proc
	js        *proc
	relay     *proc
	collDir   *proc
	jsStarted bool // jetstream has run once: its data dir holds a cursor
	jsWanted  bool // jetstream should run again when its upstream is back
	// relayWanted: StopPDS stopped the relay, StartPDS restarts it.
	relayWanted     bool
	relaySubscribed bool // the relay was told about the PDS (once)
	closed          bool

	accounts atomic.Int64
}

// Start installs what is missing (see the package doc) and brings up the
// PLC directory, the PDS and Jetstream, in that order, each waited for until
// it answers. On error, whatever was started is torn down.
func Start(ctx context.Context, opts Options) (*Network, error) {
	t0 := time.Now()
	if opts.RepoRoot == "" {
		root, err := findRepoRoot()
		if err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		opts.RepoRoot = root
	}
	if opts.PLCTimeout == 0 {
		opts.PLCTimeout = 30 * time.Second
	}
	if opts.PDSTimeout == 0 {
		opts.PDSTimeout = 60 * time.Second
	}
	if opts.JetstreamTimeout == 0 {
		opts.JetstreamTimeout = 30 * time.Second
	}
	if opts.RelayTimeout == 0 {
		opts.RelayTimeout = 30 * time.Second
	}
	if v := os.Getenv(UpstreamEnv); v != "" {
		opts.JetstreamFrom = Upstream(v)
	}
	switch opts.JetstreamFrom {
	case "":
		opts.JetstreamFrom = FromRelay
	case FromRelay, FromPDS:
	default:
		return nil, fmt.Errorf("testnet: jetstream upstream %q: want %q or %q", opts.JetstreamFrom, FromRelay, FromPDS)
	}
	w := opts.Log
	if w == nil {
		w = io.Discard
	}
	log := slog.New(slog.NewTextHandler(w, nil)).With("component", "testnet")
	inst := newInstall(opts.RepoRoot)
	var steps []Step
	if err := inst.ensure(ctx, log, &steps); err != nil {
		return nil, fmt.Errorf("testnet: install: %w", err)
	}
	var n *Network
	// A port found free can be taken before its process binds it (another
	// test's outgoing connection draws from the same range: seen in CI as
	// EADDRINUSE), so a bring-up that lost that race is tried again on
	// fresh ports.
	for try := 1; ; try++ {
		n = &Network{
			opts:          opts,
			log:           log,
			inst:          inst,
			jsFrom:        opts.JetstreamFrom,
			JetstreamFrom: opts.JetstreamFrom,
			Steps:         slices.Clone(steps),
		}
		dir, err := os.MkdirTemp("", "testnet-*")
		if err != nil {
			return nil, fmt.Errorf("testnet: temp dir: %w", err)
		}
		n.Dir = dir
		err = n.bringUp(ctx)
		if err == nil {
			break
		}
		n.Close()
		if try < 3 && addrInUse(err) && ctx.Err() == nil {
			log.Warn("a port was taken before its process bound it; bringing the network up again", "try", try, "err", err)
			continue
		}
		return nil, fmt.Errorf("testnet: %w", err)
	}
	n.StartupTime = time.Since(t0)
	n.log.Info("network up", "took", n.StartupTime.Round(time.Millisecond),
		"plc", n.PLCURL, "pds", n.PDSURL, "relay", n.RelayURL, "collectiondir", n.CollectionDirURL,
		"jetstream", n.JetstreamURL, "jetstream_from", n.jsFrom, "dir", n.Dir)
	return n, nil
}

// addrInUse reports whether a bring-up failed because a port was taken:
// the error carries the tail of the failing process's log, where node says
// EADDRINUSE and Go "address already in use".
func addrInUse(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "EADDRINUSE") || strings.Contains(msg, "address already in use")
}

func (n *Network) bringUp(ctx context.Context) error {
	ports := make([]int, 8)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	n.plcPort, n.pdsPort, n.jsPort, n.jsMetricsPort = ports[0], ports[1], ports[2], ports[3]
	n.relayPort, n.relayMetricsPort, n.collDirPort, n.collDirMetricsPort = ports[4], ports[5], ports[6], ports[7]
	n.RelayURL = fmt.Sprintf("http://127.0.0.1:%d", n.relayPort)
	n.CollectionDirURL = fmt.Sprintf("http://127.0.0.1:%d", n.collDirPort)
	n.relayAdminPassword = randomHex(16)
	n.collDirToken = randomHex(16)
	// The PDS's DID resolver rejects IP hosts, so the PLC URL uses the name.
	n.PLCURL = fmt.Sprintf("http://localhost:%d", n.plcPort)
	n.PDSURL = fmt.Sprintf("http://127.0.0.1:%d", n.pdsPort)
	n.JetstreamURL = fmt.Sprintf("ws://127.0.0.1:%d/subscribe", n.jsPort)

	// PDS configuration.
	secrets := make([]string, 5)
	for i := range secrets {
		secrets[i] = randomHex(32)
	}
	n.AdminPassword = secrets[1]
	pdsDir := filepath.Join(n.Dir, "pds")
	for _, d := range []string{filepath.Join(pdsDir, "data"), filepath.Join(pdsDir, "blobs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create pds dir: %w", err)
		}
	}
	n.pdsEnv = childEnv(
		"PDS_HOSTNAME=localhost", // service handles then end in .test
		"PDS_DEV_MODE=true",      // allows plain http and localhost
		fmt.Sprintf("PDS_PORT=%d", n.pdsPort),
		"PDS_DATA_DIRECTORY="+filepath.Join(pdsDir, "data"),
		"PDS_BLOBSTORE_DISK_LOCATION="+filepath.Join(pdsDir, "blobs"),
		"PDS_DID_PLC_URL="+n.PLCURL,
		"PDS_INVITE_REQUIRED=false",
		"PDS_CRAWLERS=", // never announce itself to a relay
		"PDS_JWT_SECRET="+secrets[0],
		"PDS_ADMIN_PASSWORD="+secrets[1],
		"PDS_DPOP_SECRET="+secrets[2],
		"PDS_REPO_SIGNING_KEY_K256_PRIVATE_KEY_HEX="+secrets[3],
		"PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="+secrets[4],
		// Tests create many accounts and records quickly.
		"PDS_RATE_LIMITS_ENABLED=false",
		"LOG_ENABLED=true",
		"LOG_LEVEL=info",
	)
	// PLC and PDS start together: the PDS only needs the PLC when an account
	// is created, and most of each start is node loading modules.
	t0 := time.Now()
	plc, err := startProc("plc", filepath.Join(n.Dir, "plc.log"), n.inst.npmDir,
		childEnv(fmt.Sprintf("PLC_PORT=%d", n.plcPort)),
		n.inst.node, filepath.Join(n.inst.npmDir, "plc.mjs"))
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.plc = plc
	n.mu.Unlock()
	pdsCtx, cancelPDS := context.WithCancel(ctx)
	defer cancelPDS()
	pdsErr := make(chan error, 1)
	go func() { pdsErr <- n.startPDS(pdsCtx) }()
	if err := plc.waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/_health", n.plcPort), false, n.opts.PLCTimeout); err != nil {
		cancelPDS()
		<-pdsErr // so that the PDS process is registered for Close
		return err
	}
	addStep(n.log, &n.Steps, "start plc", t0)
	if err := <-pdsErr; err != nil {
		return err
	}
	addStep(n.log, &n.Steps, "start pds (with plc)", t0)

	// The relay, then what reads it: Jetstream and the collection directory.
	t0 = time.Now()
	n.mu.Lock()
	err = n.startRelay(ctx)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	addStep(n.log, &n.Steps, "start relay", t0)
	t0 = time.Now()
	if err := n.StartJetstream(ctx); err != nil {
		return err
	}
	addStep(n.log, &n.Steps, "start jetstream", t0)
	t0 = time.Now()
	if err := n.StartCollectionDir(ctx); err != nil {
		return err
	}
	addStep(n.log, &n.Steps, "start collectiondir", t0)
	return nil
}

func (n *Network) startPDS(ctx context.Context) error {
	p, err := startProc("pds", filepath.Join(n.Dir, "pds.log"), n.inst.npmDir, n.pdsEnv,
		n.inst.node, filepath.Join(n.inst.npmDir, "pds.mjs"))
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.pds = p
	n.mu.Unlock()
	return p.waitHTTP(ctx, n.PDSURL+"/xrpc/_health", false, n.opts.PDSTimeout)
}

// StartJetstream starts the Jetstream server (again). After a StopJetstream it
// resumes from the upstream cursor saved in its data dir, so records written while
// it was down arrive, and its own event store (for cursor replays) is kept.
func (n *Network) StartJetstream(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("testnet: network is closed")
	}
	if n.js != nil && !n.js.exited() {
		return errors.New("testnet: jetstream is already running")
	}
	upstream := fmt.Sprintf("ws://127.0.0.1:%d/xrpc/com.atproto.sync.subscribeRepos", n.relayPort)
	if n.jsFrom == FromPDS {
		if n.pds == nil || n.pds.exited() {
			return errors.New("testnet: jetstream needs the PDS running")
		}
		upstream = fmt.Sprintf("ws://127.0.0.1:%d/xrpc/com.atproto.sync.subscribeRepos", n.pdsPort)
	} else if n.relay == nil || n.relay.exited() {
		return errors.New("testnet: jetstream needs the relay running")
	}
	env := childEnv(
		"JETSTREAM_WS_URL="+upstream,
		fmt.Sprintf("JETSTREAM_LISTEN_ADDR=127.0.0.1:%d", n.jsPort),
		fmt.Sprintf("JETSTREAM_METRICS_LISTEN_ADDR=127.0.0.1:%d", n.jsMetricsPort),
		"JETSTREAM_DATA_DIR="+filepath.Join(n.Dir, "jetstream"),
		// It exits when the upstream is quiet this long (default 15 s); a
		// test PDS is quiet most of the time.
		"JETSTREAM_LIVENESS_TTL=8760h",
	)
	if !n.jsStarted {
		// First start: read the upstream firehose from its beginning, not
		// from the live tip, so that nothing written before jetstream
		// connected is missed. Later starts resume from the cursor in the
		// data dir.
		env = append(env, "JETSTREAM_OVERRIDE_RELAY_CURSOR=0")
	}
	p, err := startProc("jetstream", filepath.Join(n.Dir, "jetstream.log"), n.Dir, env, n.inst.jetstream)
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	n.js = p
	n.jsStarted = true
	n.jsWanted = true
	// Its HTTP server comes up just before it dials the PDS; any answer will do.
	if err := p.waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/", n.jsPort), true, n.opts.JetstreamTimeout); err != nil {
		_ = p.stop(syscall.SIGKILL, time.Second)
		return fmt.Errorf("testnet: %w", err)
	}
	return nil
}

// StopJetstream stops the Jetstream server gracefully (SIGTERM), so that it
// saves its upstream cursor. Clients connected to it see their websocket close.
func (n *Network) StopJetstream() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.jsWanted = false
	if err := n.js.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		return fmt.Errorf("testnet: stop jetstream: %w", err)
	}
	return nil
}

// JetstreamRunning reports whether the Jetstream process is alive. It exits
// by itself when its PDS connection drops.
func (n *Network) JetstreamRunning() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.js != nil && !n.js.exited()
}

// StopPDS stops the PDS gracefully. What reads it is stopped first, saving
// its cursor: Jetstream exits when its upstream drops, and the relay would
// back off for up to 30 s between redials. StartPDS restarts them.
func (n *Network) StopPDS() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.jsFrom == FromRelay {
		n.relayWanted = n.relay != nil && !n.relay.exited()
		if err := n.stopRelayLocked(); err != nil {
			return err
		}
	} else {
		wanted := n.js != nil && !n.js.exited()
		if err := n.js.stop(syscall.SIGTERM, 15*time.Second); err != nil {
			return fmt.Errorf("testnet: stop jetstream: %w", err)
		}
		n.jsWanted = wanted
	}
	if err := n.pds.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		return fmt.Errorf("testnet: stop pds: %w", err)
	}
	return nil
}

// StartPDS starts the PDS again on the same port and data, and the relay
// and Jetstream too if StopPDS stopped them.
func (n *Network) StartPDS(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return errors.New("testnet: network is closed")
	}
	if n.pds != nil && !n.pds.exited() {
		n.mu.Unlock()
		return errors.New("testnet: pds is already running")
	}
	restartRelay := n.relayWanted
	n.relayWanted = false
	n.mu.Unlock()
	if err := n.startPDS(ctx); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	if restartRelay {
		return n.StartRelay(ctx)
	}
	n.mu.Lock()
	restartJS := n.jsWanted && (n.js == nil || n.js.exited())
	n.mu.Unlock()
	if restartJS {
		return n.StartJetstream(ctx)
	}
	return nil
}

// Close kills every process (the whole process group of each) and removes the
// network's directory. Nothing is kept, so there is no graceful shutdown.
func (n *Network) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	var errs []error
	for _, p := range []*proc{n.js, n.collDir, n.relay, n.pds, n.plc} {
		if err := p.stop(syscall.SIGKILL, 5*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if n.Dir != "" {
		if err := os.RemoveAll(n.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", n.Dir, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("testnet: close: %w", err)
	}
	return nil
}

// LogTails returns the last lines of each process's log, for a failing test.
func (n *Network) LogTails(lines int) string {
	var b strings.Builder
	for _, name := range []string{"plc", "pds", "relay", "collectiondir", "jetstream"} {
		path := filepath.Join(n.Dir, name+".log")
		fmt.Fprintf(&b, "----- %s (%s) -----\n%s\n", name, path, tailFile(path, lines))
	}
	return b.String()
}

// Admin returns a client for the PDS with admin (basic) auth.
func (n *Network) Admin() *atclient.APIClient {
	return atclient.NewAdminClient(n.PDSURL, n.AdminPassword)
}

// StartT starts a network for a test and closes it in t.Cleanup. A failure
// to start is fatal (never a skip: the network installs itself). When the
// test fails, the tails of the process logs are logged before Close.
func StartT(t testing.TB) *Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n, err := Start(ctx, Options{Log: tWriter{t}})
	if err != nil {
		t.Fatalf("start test network: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("test network logs:\n%s", n.LogTails(30))
		}
		if err := n.Close(); err != nil {
			t.Errorf("close test network: %v", err)
		}
	})
	return n
}

// tWriter sends log lines to t.Log. Only used from the goroutine calling
// Start and the network's methods, never after the test ends.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
