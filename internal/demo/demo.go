package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/internal/testnet"
)

// Media is where the demo puts its audio and artwork: relay's local-disk
// storage under the data dir, which relay serve answers at /audio/ and
// /art/. Keys are "audio/{sha256hex}.wav" and "art/{sha256hex}.png".
type Media interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	URL(key string) string
}

// Config configures Start.
type Config struct {
	// RelayBin is the relay binary to run (make demo builds bin/relay).
	RelayBin string
	// DataDir is relay serve's data dir. It is emptied at start: the local
	// network is new at every start, so what an earlier run indexed points
	// at accounts that no longer exist. A dir holding files that Start did
	// not mark as the demo's is refused, never emptied.
	DataDir string
	// Listen is relay serve's address, on loopback ("127.0.0.1:8080"). Port
	// 0 picks a free one (and a new one if it is taken before relay binds it).
	Listen string
	// NewMedia opens the media storage of dir (DataDir/media) whose objects
	// are served under publicURL.
	NewMedia func(dir, publicURL string) (Media, error)
	// RepoRoot is the module root, for internal/testnet; "" finds it.
	RepoRoot string
	// Log receives progress lines (testnet's included). Nil: discarded.
	Log io.Writer
	// AddPlays, if set, adds play counts to relay serve's store (beside the
	// running server, as relay backfill writes), so that trending is not
	// empty at the first look.
	AddPlays func(context.Context, []relay.PlayCount) error
	// Ready bounds the wait for the catalogue to be served. Zero: 90 s.
	Ready time.Duration
}

// Artist is a demo account as the demo wrote it.
type Artist struct {
	Name, Handle, DID string
}

// Track is a demo track as written to the PDS.
type Track struct {
	URI, Title, Artist, Album, Genre string
	Tags                             []string
	Featured                         string // the featured artist's handle, if any
	AudioURL, ImageURL               string
	// Plays are the plays the demo gave it over the past day (0 without
	// Config.AddPlays).
	Plays int64
}

// Demo is a running demo: the local network, relay serve and the catalogue.
type Demo struct {
	// URL is relay serve's origin, http://127.0.0.1:PORT.
	URL     string
	Artists []Artist
	Tracks  []Track
	Hostile []Hostile
	// Network is the local ATProto network the catalogue lives on.
	Network *testnet.Network
	// RelayLog is relay serve's log file.
	RelayLog string

	relay *relayProc
	log   *slog.Logger
}

// ErrPortBusy is returned when Config.Listen names a port already in use.
var ErrPortBusy = errors.New("port busy")

// Start brings the demo up: the local network of internal/testnet, relay
// serve against it, the catalogue's media in relay's storage and its
// records on the PDS; it returns once every track is in the discovery feed
// and search, and every artist answers by handle. On error whatever was
// started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Demo, err error) {
	if cfg.Ready == 0 {
		cfg.Ready = 90 * time.Second
	}
	w := cfg.Log
	if w == nil {
		w = io.Discard
	}
	log := slog.New(slog.NewTextHandler(w, nil)).With("component", "demo")
	host, port, err := splitLoopback(cfg.Listen)
	if err != nil {
		return nil, err
	}
	if err := resetDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	// Fail before the network's few seconds if the port is already taken.
	if port != 0 {
		if err := probePort(host, port); err != nil {
			return nil, err
		}
	}

	t0 := time.Now()
	tn, err := testnet.Start(ctx, testnet.Options{RepoRoot: cfg.RepoRoot, Log: w})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d := &Demo{Network: tn, log: log, RelayLog: filepath.Join(filepath.Dir(filepath.Clean(cfg.DataDir)), "relay.log")}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	log.Info("local network up", "took", time.Since(t0).Round(time.Millisecond), "pds", tn.PDSURL, "plc", tn.PLCURL, "jetstream", tn.JetstreamURL)

	// Jetstream replays from its store, so relay reads from just before
	// the first record, whenever it connects.
	cursor := time.Now().Add(-time.Second).UnixMicro()
	if err := d.startRelay(ctx, cfg, host, port, cursor); err != nil {
		return nil, err
	}
	log.Info("relay serve up", "url", d.URL, "log", d.RelayLog)

	media, err := cfg.NewMedia(filepath.Join(cfg.DataDir, "media"), d.URL)
	if err != nil {
		return nil, fmt.Errorf("demo: media storage: %w", err)
	}
	err = d.writeCatalogue(ctx, media)
	if c, ok := media.(io.Closer); ok {
		// The files stay; relay serve answers them from its own handle.
		if cerr := c.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("demo: media storage: %w", cerr)
		}
	}
	if err != nil {
		return nil, err
	}
	log.Info("catalogue written", "artists", len(d.Artists), "tracks", len(d.Tracks), "hostile", len(d.Hostile))
	if err := d.waitServed(ctx, cfg.Ready); err != nil {
		return nil, err
	}
	log.Info("catalogue served", "took", time.Since(t0).Round(time.Millisecond))
	if cfg.AddPlays != nil {
		if err := d.addPlays(ctx, cfg.AddPlays); err != nil {
			return nil, err
		}
		log.Info("plays added", "hours", playHours)
	}
	return d, nil
}

// startRelay runs relay serve, on a fresh port again (up to three tries)
// when a free port it picked was taken before relay bound it.
func (d *Demo) startRelay(ctx context.Context, cfg Config, host string, port int, cursor int64) error {
	for try := 1; ; try++ {
		p := port
		if p == 0 {
			var err error
			if p, err = freePort(host); err != nil {
				return err
			}
		}
		d.URL = "http://" + net.JoinHostPort(host, strconv.Itoa(p))
		args := []string{
			"--log-format", "json", "serve",
			"--data-dir", cfg.DataDir,
			"--listen", net.JoinHostPort(host, strconv.Itoa(p)),
			"--public-url", d.URL,
			"--jetstream-url", d.Network.JetstreamURL,
			"--jetstream-cursor", strconv.FormatInt(cursor, 10),
			"--plc-url", d.Network.PLCURL,
			// Everything of the local network is plain http on loopback,
			// and its .test handles do not resolve back.
			"--allow-private-network", "--trust-declared-handles", "--resolve-handles",
		}
		rp, err := startRelay(ctx, cfg.RelayBin, d.RelayLog, args)
		if err == nil {
			d.relay = rp
			return nil
		}
		if errors.Is(err, errAddrInUse) {
			if port != 0 {
				return fmt.Errorf("demo: %s: %w (relay serve could not listen; choose another port with DEMO_PORT)", d.URL, ErrPortBusy)
			}
			if try < 3 && ctx.Err() == nil {
				d.log.Warn("a port was taken before relay bound it; trying another", "try", try)
				continue
			}
		}
		return fmt.Errorf("demo: %w", err)
	}
}

// Close stops relay serve (SIGTERM, so it shuts down cleanly) and then the
// network, and reports what did not stop.
func (d *Demo) Close() error {
	var errs []error
	if d.relay != nil {
		if err := d.relay.stop(15 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if d.Network != nil {
		if err := d.Network.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("demo: close: %w", err)
	}
	return nil
}

// Done is closed when relay serve exits, whoever stopped it.
func (d *Demo) Done() <-chan struct{} { return d.relay.done }

// RelayPID is relay serve's process id.
func (d *Demo) RelayPID() int { return d.relay.cmd.Process.Pid }

// putBlob stores b under prefix/{sha256}.ext and returns its public URL.
func putBlob(ctx context.Context, m Media, prefix, ext, contentType string, b []byte) (string, error) {
	sum := sha256.Sum256(b)
	key := prefix + "/" + hex.EncodeToString(sum[:]) + "." + ext
	if err := m.Put(ctx, key, bytes.NewReader(b), int64(len(b)), contentType); err != nil {
		return "", fmt.Errorf("demo: store %s: %w", key, err)
	}
	return m.URL(key), nil
}

// markerFile marks a data dir as the demo's: only such a dir (or an empty
// or absent one) is emptied, so a --data-dir pointing at a real relay's
// data is refused rather than wiped.
const markerFile = ".relay-demo"

func resetDataDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("demo: data dir: %w", err)
	}
	if len(ents) > 0 {
		if _, err := os.Stat(filepath.Join(dir, markerFile)); err != nil {
			return fmt.Errorf("demo: data dir %s holds files and is not a demo's (no %s): refusing to empty it", dir, markerFile)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("demo: empty data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: data dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, markerFile), []byte("emptied at every start of make demo\n"), 0o644); err != nil {
		return fmt.Errorf("demo: data dir: %w", err)
	}
	return nil
}

func splitLoopback(listen string) (string, int, error) {
	host, ps, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("demo: listen address %q: %w", listen, err)
	}
	// relay trusts its own origin's http media only on loopback.
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", 0, fmt.Errorf("demo: listen address %q: want a loopback IP such as 127.0.0.1", listen)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("demo: listen address %q: bad port", listen)
	}
	return host, port, nil
}

func probePort(host string, port int) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("demo: %s: %w (%v); choose another port with DEMO_PORT", addr, ErrPortBusy, err)
	}
	return l.Close()
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("demo: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// httpClient is for relay serve and the PDS, both on loopback.
var httpClient = &http.Client{Timeout: 10 * time.Second}
