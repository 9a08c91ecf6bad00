# relay's two commands: `make run` and `make test`. Everything they need is
# installed by them (Go modules come through the Go module proxy).

GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
DATA_DIR ?= ./data
LISTEN ?= :8080

.PHONY: build run test vet fuzz bench-ingest clean

build: bin/relay

bin/relay: $(shell find . -name '*.go' -not -path './.cache/*') go.mod go.sum schema.sql $(shell find lexicons -name '*.json')
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/relay

# Starts relay serve on the embedded defaults: SQLite and Bleve under ./data,
# the public jetstream hosts upstream.
run: bin/relay
	./bin/relay serve --data-dir $(DATA_DIR) --listen $(LISTEN)

test: vet
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# A short fuzz run of every decoder of network input.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseEvent -fuzztime 30s ./indexer/

# The ingest rate of a 100k-event jetstream replay into SQLite and Bleve.
bench-ingest:
	$(GO) test -run '^$$' -bench BenchmarkIngest -benchtime 1x -timeout 30m ./cmd/relay/

clean:
	rm -rf bin
