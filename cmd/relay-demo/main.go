// Command relay-demo is `make demo`: relay on a local ATProto network with
// a small catalogue, for a newcomer to open in a browser. It parses flags
// and wires internal/demo to relay's local-disk media storage; the work
// happens in internal/demo. It runs until Ctrl-C (or SIGTERM), then stops
// relay serve and the network.
//
//	go run ./cmd/relay-demo [--relay bin/relay] [--data-dir .cache/demo/data] [--listen 127.0.0.1:8080]
//
// DEMO_PORT sets the port of the default --listen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/internal/demo"
	"github.com/relaymusic/relay/storage"
)

func main() {
	port := os.Getenv("DEMO_PORT")
	if port == "" {
		port = "8080"
	}
	relayBin := flag.String("relay", "bin/relay", "the relay binary to run")
	dataDir := flag.String("data-dir", ".cache/demo/data", "relay serve's data dir (emptied at every start)")
	listen := flag.String("listen", "127.0.0.1:"+port, "relay serve's address, on loopback (DEMO_PORT sets the port)")
	verbose := flag.Bool("v", false, "show the local network's progress lines too")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *relayBin, *dataDir, *listen, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "relay-demo: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, relayBin, dataDir, listen string, verbose bool) error {
	if _, err := os.Stat(relayBin); err != nil {
		return fmt.Errorf("%w (make demo builds it: make bin/relay)", err)
	}
	var logw io.Writer = io.Discard
	if verbose {
		logw = os.Stderr
	}
	fmt.Println("relay demo: starting a local network (plc, pds, relay, jetstream) and relay serve ...")
	t0 := time.Now()
	d, err := demo.Start(ctx, demo.Config{
		RelayBin: relayBin,
		DataDir:  dataDir,
		Listen:   listen,
		Log:      logw,
		NewMedia: func(dir, publicURL string) (demo.Media, error) {
			return storage.NewLocal(dir, publicURL)
		},
		// Beside the running server, as relay backfill writes.
		AddPlays: func(ctx context.Context, counts []relay.PlayCount) error {
			dd, err := datadir.Open(ctx, dataDir)
			if err != nil {
				return err
			}
			defer dd.Close()
			return dd.Store.AddPlays(ctx, counts)
		},
	})
	if errors.Is(err, demo.ErrPortBusy) {
		next := "8081"
		if _, p, perr := net.SplitHostPort(listen); perr == nil {
			if n, aerr := strconv.Atoi(p); aerr == nil {
				next = strconv.Itoa(n + 1)
			}
		}
		return fmt.Errorf("%w\n  try: DEMO_PORT=%s make demo", err, next)
	}
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("\nrelay demo: stopping ...")
		if err := d.Close(); err != nil {
			slog.Error("relay-demo: stop", "err", err)
			return
		}
		fmt.Println("relay demo: stopped, nothing left running")
	}()

	fmt.Printf("\nrelay demo is up (%s): open %s/\n\n", time.Since(t0).Round(100*time.Millisecond), d.URL)
	fmt.Println("artists (accounts on the local pds):")
	for _, a := range d.Artists {
		fmt.Printf("  %-22s %s\n", a.Handle, a.Name)
	}
	fmt.Printf("\n%d tracks; %d hostile records, of which the rejected ones are counted in /metrics:\n", len(d.Tracks), len(d.Hostile))
	for _, h := range d.Hostile {
		what := "indexed, shown as text"
		if h.Reason != "" {
			what = "rejected: " + h.Reason
		}
		fmt.Printf("  %-56s %s\n", h.What, what)
	}
	fmt.Println("\nthings to try:")
	for _, t := range d.Tips(ctx) {
		fmt.Printf("  %s\n    %s\n", t.What, t.URL)
	}
	fmt.Printf("\nrelay serve's log: %s; its data: %s\nctrl-c stops everything.\n", d.RelayLog, dataDir)
	select {
	case <-ctx.Done():
		return nil
	case <-d.Done():
		return fmt.Errorf("relay serve exited by itself; see %s", d.RelayLog)
	}
}
