// Command relay is relay's discovery service: one binary whose subcommands
// run the service (serve: jetstream in, the search index in step, the XRPC
// appview out), find what was published before it started (backfill, beside
// a running serve or alone) and maintain its data (reindex). It parses flags
// and wires the packages together; the work happens in them.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = ""

func main() {
	app := &cli.App{
		Name:    "relay",
		Usage:   "relay's discovery service: index app.relay.track records from the network and serve them",
		Version: versionString(),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "log format: text, json, or auto (text on a terminal, json otherwise)", EnvVars: []string{"RELAY_LOG_FORMAT"}},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error", EnvVars: []string{"RELAY_LOG_LEVEL"}},
		},
		Before: func(c *cli.Context) error {
			log, err := newLogger(c.String("log-format"), c.String("log-level"))
			if err != nil {
				return err
			}
			slog.SetDefault(log)
			return nil
		},
		Commands: []*cli.Command{serveCommand, backfillCommand, reindexCommand},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.RunContext(ctx, os.Args); err != nil {
		slog.Error("relay failed", "err", err)
		os.Exit(1)
	}
}

var dataDirFlag = &cli.StringFlag{
	Name:    "data-dir",
	Value:   "./data",
	Usage:   "directory for the SQLite database and the search index",
	EnvVars: []string{"RELAY_DATA_DIR"},
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "auto" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("bad --log-format %q: want text, json or auto", format)
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
