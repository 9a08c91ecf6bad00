# relay's two commands: `make run` and `make test`. Everything they need is
# installed by them (Go modules come through the Go module proxy).

GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
DATA_DIR ?= ./data
LISTEN ?= :8080

.PHONY: build run demo test vet lint-metrics chromium screenshots fuzz bench-ingest bench e2e clean

build: bin/relay

bin/relay: $(shell find . -name '*.go' -not -path './.cache/*') go.mod go.sum schema.sql $(shell find lexicons -name '*.json')
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/relay

# Starts relay serve on the embedded defaults: SQLite and Bleve under ./data,
# the public jetstream hosts upstream.
run: bin/relay
	./bin/relay serve --data-dir $(DATA_DIR) --listen $(LISTEN)

# relay on a local network (internal/testnet) with a small catalogue of
# sample tracks, for a first look without the public network: prints the
# URL to open, runs until Ctrl-C. DEMO_PORT changes the port (8080).
# Built, then run: `go run` exits 1 on Ctrl-C however cleanly the program
# stops, and make would report that as an error.
demo: bin/relay
	$(GO) build -o bin/relay-demo ./cmd/relay-demo && ./bin/relay-demo

test: vet lint-metrics chromium
	$(GO) test -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# The web UI's tests drive Debian's headless Chromium (installed if missing).
chromium:
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# The web UI's screenshots under docs/screenshots (desktop and phone), on demand.
screenshots: chromium
	RELAY_SCREENSHOTS=1 $(GO) test -count=1 -run 'TestScreenshots|TestBrowserPublish' ./web/

# promtool's lint of a real /metrics scrape (installs promtool if missing).
lint-metrics:
	GO=$(GO) ./bench/lint-metrics.sh

# A short fuzz run of every decoder of network input.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseEvent -fuzztime 30s ./indexer/
	$(GO) test -run '^$$' -fuzz FuzzTrack -fuzztime 30s ./validate/
	$(GO) test -run '^$$' -fuzz FuzzLoadRepo -fuzztime 30s ./backfill/
	$(GO) test -run '^$$' -fuzz FuzzParams -fuzztime 30s ./appview/
	$(GO) test -run '^$$' -fuzz FuzzTrackLink -fuzztime 30s ./web/

# The ingest rate of a 100k-event jetstream replay into SQLite and Bleve.
bench-ingest:
	$(GO) test -run '^$$' -bench BenchmarkIngest -benchtime 1x -timeout 30m ./cmd/relay/

# The benchmark suite (bench/): ingest, queries over a synthetic corpus of
# BENCH_TRACKS tracks, search against SQLite FTS5, resources. Prints a table
# and writes BENCHMARKS.md. The corpus is cached in .cache/bench/.
BENCH_TRACKS ?= 1000000
BENCH_FLAGS ?=
bench: bin/relay
	$(GO) run -tags sqlite_fts5 ./bench/cmd/relaybench -tracks $(BENCH_TRACKS) -relay ./bin/relay -out BENCHMARKS.md $(BENCH_FLAGS)

# End-to-end: relay serve against a real local PDS, PLC and Jetstream
# (internal/testnet; the first run installs node and the PDS into .cache).
e2e:
	$(GO) test -count=1 -v ./e2e/

clean:
	rm -rf bin
