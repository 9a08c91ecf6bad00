#!/usr/bin/env bash
# Lints relay's /metrics exposition with promtool: builds relay, starts
# `relay serve` on a free loopback port with a temporary data dir and no
# upstream, calls every XRPC endpoint once, scrapes /metrics and runs
# `promtool check metrics` on it. Any complaint fails.
set -euo pipefail

GO=${GO:-go}
cd "$(dirname "$0")/.."

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus) # ships promtool
command -v curl >/dev/null 2>&1 || need+=(curl ca-certificates)
if [ ${#need[@]} -gt 0 ]; then
	echo "lint-metrics: installing ${need[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

"$GO" build -o "$tmp/relay" ./cmd/relay

# Port 0: the kernel picks a free loopback port; relay logs the address it
# got ("relay serving" with addr), which is read back from its JSON log.
"$tmp/relay" --log-format json serve --listen 127.0.0.1:0 --data-dir "$tmp/data" \
	--jetstream-url ws://127.0.0.1:1/subscribe >"$tmp/relay.log" 2>&1 &
pid=$!

addr=
for _ in $(seq 1 300); do
	addr=$(sed -n 's/.*"msg":"relay serving".*"addr":"\([^"]*\)".*/\1/p' "$tmp/relay.log" | head -n1)
	if [ -n "$addr" ]; then break; fi
	if ! kill -0 "$pid" 2>/dev/null; then break; fi
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "lint-metrics: relay serve did not start:" >&2
	cat "$tmp/relay.log" >&2
	exit 1
fi

for _ in $(seq 1 300); do
	if curl -fsS -o /dev/null "http://$addr/xrpc/_health"; then break; fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "lint-metrics: relay serve exited at start:" >&2
		cat "$tmp/relay.log" >&2
		exit 1
	fi
	sleep 0.1
done

# One request to each XRPC endpoint, so per-method series carry samples.
for path in \
	"/xrpc/_health" \
	"/xrpc/app.relay.feed.getDiscoveryFeed?limit=10" \
	"/xrpc/app.relay.feed.searchTracks?q=night" \
	"/xrpc/app.relay.feed.searchTracks?q=night&sort=newest" \
	"/xrpc/app.relay.feed.searchTracks?limit=0" \
	"/xrpc/app.relay.feed.noSuchMethod"; do
	curl -sS -o /dev/null "http://$addr$path"
done

curl -fsS "http://$addr/metrics" >"$tmp/metrics.txt"
if ! grep -q '^relay_' "$tmp/metrics.txt"; then
	echo "lint-metrics: no relay_ metrics in the scrape" >&2
	exit 1
fi

# promtool prints lint problems and exits 0 on some versions, so any output
# counts as a failure.
set +e
out=$(promtool check metrics <"$tmp/metrics.txt" 2>&1)
rc=$?
set -e
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "lint-metrics: promtool check metrics complained (exit $rc):" >&2
	echo "$out" >&2
	exit 1
fi
echo "lint-metrics: $(grep -c '^relay_' "$tmp/metrics.txt") relay_ samples, promtool clean"
