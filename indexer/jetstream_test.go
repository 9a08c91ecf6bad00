package indexer

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay/internal/jetstreamtest"
	"github.com/relaymusic/relay/validate"
)

func TestSubscribeURL(t *testing.T) {
	cases := []struct {
		name     string
		host     string
		cursor   int64
		maxBytes int64
		want     string // scheme://host/path
		query    url.Values
	}{
		{"bare host", "jetstream2.us-east.bsky.network", 0, MaxEventBytes, "wss://jetstream2.us-east.bsky.network/subscribe",
			url.Values{"wantedCollections": {"app.relay.track"}, "maxMessageSizeBytes": {"81920"}}},
		{"with cursor", "ws://127.0.0.1:6008/subscribe", 1779719009132431, 1000, "ws://127.0.0.1:6008/subscribe",
			url.Values{"wantedCollections": {"app.relay.track"}, "cursor": {"1779719009132431"}, "maxMessageSizeBytes": {"1000"}}},
		{"https becomes wss, path defaults", "https://js.example.com", 0, 1000, "wss://js.example.com/subscribe",
			url.Values{"wantedCollections": {"app.relay.track"}, "maxMessageSizeBytes": {"1000"}}},
		{"our values replace the configured ones", "ws://127.0.0.1:6008/subscribe?maxMessageSizeBytes=0&cursor=5", 0, 1000, "ws://127.0.0.1:6008/subscribe",
			url.Values{"wantedCollections": {"app.relay.track"}, "maxMessageSizeBytes": {"1000"}}},
		{"no cap asked for", "ws://127.0.0.1:6008/subscribe", 0, 0, "ws://127.0.0.1:6008/subscribe",
			url.Values{"wantedCollections": {"app.relay.track"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := SubscribeURL(tc.host, []string{"app.relay.track"}, tc.cursor, tc.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != tc.want {
				t.Errorf("url = %s, want %s", got, tc.want)
			}
			if got := u.Query(); got.Encode() != tc.query.Encode() {
				t.Errorf("query = %s, want %s", got.Encode(), tc.query.Encode())
			}
		})
	}
}

// oversizedFrame is a create whose record is made of '<', which jetstream
// sends as six bytes each: about 700 KB of record is a 4 MiB message.
func oversizedFrame(t *testing.T, timeUS int64, size int) jetstreamtest.Frame {
	t.Helper()
	rec := strings.Replace(goodRecord, `"title"`, `"padding":"`+strings.Repeat(`\u003c`, size/6)+`","title"`, 1)
	raw := strings.Replace(commitFrame("did:plc:alice5rxbvqptxhmrrkjtu6m", "create", "app.relay.track", "3mmoojp7etg2z", "3mmoojp7vgo2z",
		"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq", rec), "1779719009132431", itoa(timeUS), 1)
	f, err := jetstreamtest.ParseFrame([]byte(raw))
	if err != nil || f.TimeUS != timeUS || len(f.Raw) < size {
		t.Fatalf("building the oversized frame: %v (time_us %d, %d bytes)", err, f.TimeUS, len(f.Raw))
	}
	return f
}

// TestOversizedMessageSkipped: a server that sends an event over the limit
// anyway (here, one that ignores maxMessageSizeBytes) does not stop ingest:
// the message is counted, skipped, and every event after it is indexed on
// the same connection, with no reconnect.
func TestOversizedMessageSkipped(t *testing.T) {
	frames, exp := jetstreamtest.Generate(jetstreamtest.StreamSpec{Events: 60, Seed: 11})
	big := oversizedFrame(t, frames[5].TimeUS, 4<<20+1)
	frames = append(frames[:6:6], append([]jetstreamtest.Frame{big}, frames[6:]...)...)
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()
	s := openStore(t)
	if _, err := s.ApplyBatch(t.Context(), nil, frames[0].TimeUS); err != nil {
		t.Fatal(err)
	}
	host := hostLabel(srv.URL())
	m := runIndexer(t, s, srv, exp.LastTimeUS)

	assertState(t, s, exp)
	if got := rejected(m, ReasonOversized); got != 1 {
		t.Errorf("rejected{%s} += %v, want 1", ReasonOversized, got)
	}
	if got := rejected(m, validate.ReasonTooLarge); got != 0 {
		t.Errorf("rejected{%s} += %v: the oversized message was parsed", validate.ReasonTooLarge, got)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Errorf("%d connections, want 1: the oversized message broke the stream", len(reqs))
	}
	// runIndexer's cancel ends the connection, counted once at most.
	if got := testutil.ToFloat64(m.reconnects.WithLabelValues(host)); got > 1 {
		t.Errorf("reconnects += %v", got)
	}
	for _, r := range reqs {
		if r.MaxMessageSizeBytes != MaxEventBytes {
			t.Errorf("maxMessageSizeBytes = %d, want %d", r.MaxMessageSizeBytes, MaxEventBytes)
		}
	}
}

// TestMessageLimitBoundary: a message of exactly the limit is read; one byte
// more is skipped.
func TestMessageLimitBoundary(t *testing.T) {
	base := time.Now().Add(-time.Hour).UnixMicro()
	probe := oversizedFrame(t, base+1, 1000)
	limit := int64(len(probe.Raw))
	cases := []struct {
		name      string
		limit     int64
		oversized float64
	}{
		{"at the limit", limit, 0},
		{"one byte over", limit - 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := jetstreamtest.NewServer([]jetstreamtest.Frame{probe, mkTrackFrame(t, base+2)})
			defer srv.Close()
			s := openStore(t)
			if _, err := s.ApplyBatch(t.Context(), nil, base); err != nil {
				t.Fatal(err)
			}
			m := NewMetrics(prometheus.NewRegistry())
			ix := New(Config{
				Metrics:    m,
				Store:      s,
				Subscriber: SubscriberConfig{Hosts: []string{srv.URL()}, MaxMessageBytes: tc.limit, MinBackoff: 5 * time.Millisecond},
				BatchSize:  1, BatchInterval: 5 * time.Millisecond, Log: quietLog(),
			})
			runIndexerWith(t, ix, s, base+2)
			if got := rejected(m, ReasonOversized); got != tc.oversized {
				t.Errorf("rejected{%s} += %v, want %v", ReasonOversized, got, tc.oversized)
			}
			rows, err := s.Feed(t.Context(), nil, 10)
			if err != nil {
				t.Fatal(err)
			}
			// The probe's record is valid (1 KB of '<'): read, it is a track.
			want := 1 + (1 - int(tc.oversized))
			if len(rows) != want {
				t.Errorf("%d tracks, want %d", len(rows), want)
			}
			if got := srv.Requests()[0].MaxMessageSizeBytes; got != tc.limit {
				t.Errorf("maxMessageSizeBytes = %d, want %d", got, tc.limit)
			}
		})
	}
}

// mkTrackFrame is a valid create at timeUS.
func mkTrackFrame(t *testing.T, timeUS int64) jetstreamtest.Frame {
	t.Helper()
	raw := strings.Replace(commitFrame("did:plc:bob7rxbvqptxhmrrkjtu6mab", "create", "app.relay.track", "3mmoojp7etg2y", "3mmoojp7vgo2y",
		"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq", goodRecord), "1779719009132431", itoa(timeUS), 1)
	f, err := jetstreamtest.ParseFrame([]byte(raw))
	if err != nil || f.TimeUS != timeUS {
		t.Fatalf("building a frame: %v", err)
	}
	return f
}
