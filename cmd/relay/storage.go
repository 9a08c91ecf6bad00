package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/relaymusic/relay/storage"
	"github.com/relaymusic/relay/validate"
)

// storageFlags choose where uploaded audio and artwork are kept.
var storageFlags = []cli.Flag{
	&cli.StringFlag{Name: "storage", Value: "local", Usage: "where uploaded audio and artwork are kept: local ({data-dir}/media, served here) or r2", EnvVars: []string{"RELAY_STORAGE"}},
	&cli.StringFlag{Name: "r2-account-id", Usage: "Cloudflare account id (the endpoint https://{id}.r2.cloudflarestorage.com)", EnvVars: []string{"RELAY_R2_ACCOUNT_ID"}},
	&cli.StringFlag{Name: "r2-bucket", Usage: "R2 bucket", EnvVars: []string{"RELAY_R2_BUCKET"}},
	&cli.StringFlag{Name: "r2-access-key-id", Usage: "R2 API token's access key id", EnvVars: []string{"RELAY_R2_ACCESS_KEY_ID"}},
	&cli.StringFlag{Name: "r2-secret-access-key", Usage: "R2 API token's secret access key (prefer the environment)", EnvVars: []string{"RELAY_R2_SECRET_ACCESS_KEY"}},
	&cli.StringFlag{Name: "r2-public-url", Usage: "the bucket's public origin (custom domain or r2.dev), named by records; not with --r2-signed-urls", EnvVars: []string{"RELAY_R2_PUBLIC_URL"}},
	&cli.BoolFlag{Name: "r2-signed-urls", Usage: "keep the bucket private: records name /audio/{key} here, which redirects to a presigned GET", EnvVars: []string{"RELAY_R2_SIGNED_URLS"}},
	&cli.DurationFlag{Name: "r2-url-ttl", Value: time.Hour, Usage: "how long a presigned GET is good for (at most 168h)", EnvVars: []string{"RELAY_R2_URL_TTL"}},
}

// mediaStore is what serve holds of the store: the Store the publisher
// will write to, and the Handler mounted at /audio/ and /art/.
type mediaStore interface {
	storage.Store
	Handler() http.Handler
}

// openMediaStore opens the --storage store. This service's origin is
// --public-url, or unset the listener's port on loopback, so make run
// serves (and validates) its own media with nothing configured.
func openMediaStore(ctx context.Context, c *cli.Context, dataDir string, ln net.Listener, log *slog.Logger) (mediaStore, error) {
	origin := c.String("public-url")
	if origin == "" {
		port := 0
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			port = a.Port
		}
		origin = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	switch kind := c.String("storage"); kind {
	case "local":
		dir := filepath.Join(dataDir, "media")
		l, err := storage.NewLocal(dir, origin)
		if err != nil {
			return nil, err
		}
		if c.String("public-url") == "" {
			// Records this instance writes name the loopback origin.
			if err := validate.TrustOrigin(origin); err != nil {
				return nil, err
			}
		}
		log.Info("media storage", "storage", kind, "dir", dir, "url", origin)
		return l, nil
	case "r2":
		cfg := storage.R2Config{
			AccountID:       c.String("r2-account-id"),
			Bucket:          c.String("r2-bucket"),
			AccessKeyID:     c.String("r2-access-key-id"),
			SecretAccessKey: c.String("r2-secret-access-key"),
			PublicURL:       c.String("r2-public-url"),
			SignedURLs:      c.Bool("r2-signed-urls"),
			URLTTL:          c.Duration("r2-url-ttl"),
			ServiceURL:      origin,
		}
		startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := storage.NewR2(startCtx, cfg)
		if err != nil {
			return nil, err
		}
		log.Info("media storage", "storage", kind, "r2", cfg) // credentials redacted (R2Config.LogValue)
		return r, nil
	default:
		return nil, fmt.Errorf("--storage %q: want local or r2", kind)
	}
}
