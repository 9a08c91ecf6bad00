package indexer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-json"
	"github.com/gorilla/websocket"

	"github.com/bluesky-social/jetstream/pkg/models"

	"github.com/relaymusic/relay/validate"
)

// DefaultJetstreamHosts are the public jetstream instances.
var DefaultJetstreamHosts = []string{
	"wss://jetstream2.us-east.bsky.network/subscribe",
	"wss://jetstream1.us-east.bsky.network/subscribe",
	"wss://jetstream1.us-west.bsky.network/subscribe",
	"wss://jetstream2.us-west.bsky.network/subscribe",
}

// SubscriberConfig tunes the jetstream reader. Zero values take the defaults.
type SubscriberConfig struct {
	// Hosts are jetstream /subscribe URLs (or bare host names), tried in turn.
	Hosts []string
	// Collections is the wantedCollections filter.
	Collections []string
	// Rewind is how far before the last event seen a reconnect to the same
	// host resumes (jetstream is at-least-once; the rev check drops repeats).
	Rewind time.Duration // default 5s
	// FailoverRewind is the rewind when switching hosts: time_us differs
	// between instances.
	FailoverRewind time.Duration // default 10s
	// FailuresBeforeFailover is how many failed attempts in a row on one host
	// move the reader to the next.
	FailuresBeforeFailover int           // default 3
	MinBackoff, MaxBackoff time.Duration // default 1s, 1m
	// PingInterval keeps the connection alive; a connection that answers
	// nothing (no event, no pong) for 3 intervals is dropped.
	PingInterval time.Duration // default 20s
	// MaxMessageBytes caps one websocket message (one event). It is sent as
	// maxMessageSizeBytes, so jetstream skips larger events itself; one that
	// arrives anyway is counted (message_too_large), skipped unread and the
	// stream goes on past it.
	MaxMessageBytes int64 // default MaxEventBytes
	Dialer          *websocket.Dialer
	// Metrics are where reconnects and unreadable messages are counted
	// (default: unregistered ones).
	Metrics *Metrics
}

func (c *SubscriberConfig) defaults() {
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if len(c.Hosts) == 0 {
		c.Hosts = DefaultJetstreamHosts
	}
	if c.Rewind == 0 {
		c.Rewind = 5 * time.Second
	}
	if c.FailoverRewind == 0 {
		c.FailoverRewind = 10 * time.Second
	}
	if c.FailuresBeforeFailover == 0 {
		c.FailuresBeforeFailover = 3
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = time.Minute
	}
	if c.PingInterval == 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = MaxEventBytes
	}
	if c.Dialer == nil {
		c.Dialer = &websocket.Dialer{HandshakeTimeout: 15 * time.Second, Proxy: http.ProxyFromEnvironment}
	}
}

// MaxEventBytes is the default cap on one event: the largest record we
// accept plus room for the event around it. Jetstream measures the event as
// it serializes it (pkg/server/subscriber.go compares len of the event
// bytes), escapes included, and that is also how validate.MaxRecordBytes measures the
// record, so no event carrying an acceptable record is over the cap: the
// envelope is a DID (at most 2 KiB), rkey (512), collection (317), rev, cid
// and field names, under 4 KiB.
//
// The jetstream notes say to leave maxMessageSizeBytes at 0 because a skipped
// delete would be lost. That holds for a cap near the size of real events,
// not for this one: deletes, identity and account events carry no record and
// stay under 3 KiB even at the largest DID. What the cap skips is only a
// create or update whose record validate.Track would reject as record_too_large;
// the one difference is that a skipped update leaves the version we held
// shown, where a rejected one hides it.
const MaxEventBytes = validate.MaxRecordBytes + 16<<10

// Subscriber reads the jetstream v1 wire (/subscribe, JSON text messages)
// from a list of hosts, reconnecting with backoff and failing over, and
// never skipping: every reconnect resumes before the last event it received.
type Subscriber struct {
	cfg SubscriberConfig
	log *slog.Logger
	rej *rejectLog

	mu        sync.Mutex
	host      string
	connected bool
}

// NewSubscriber returns a Subscriber; Run starts it.
func NewSubscriber(cfg SubscriberConfig, log *slog.Logger) *Subscriber {
	cfg.defaults()
	// A series per host from the first scrape, before any reconnect.
	for _, h := range cfg.Hosts {
		cfg.Metrics.reconnects.WithLabelValues(hostLabel(h))
	}
	return &Subscriber{cfg: cfg, log: log, rej: newRejectLog(log)}
}

// SubscriberStatus is what the subscriber is doing now.
type SubscriberStatus struct {
	Host      string
	Connected bool
}

// Status reports the current host and whether a connection is open.
func (s *Subscriber) Status() SubscriberStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SubscriberStatus{Host: s.host, Connected: s.connected}
}

func (s *Subscriber) setStatus(host string, connected bool) {
	s.mu.Lock()
	s.host, s.connected = host, connected
	s.mu.Unlock()
}

// Run reads events from cursor (unix microseconds; 0: the live tip) and
// hands each to handle in stream order, until ctx ends or handle fails.
// Errors of the network never end it: it backs off and reconnects.
func (s *Subscriber) Run(ctx context.Context, cursor int64, handle func(*models.Event) error) error {
	var (
		hostIdx  int
		failures int
		backoff  = s.cfg.MinBackoff
		last     = cursor // time_us of the newest event received
		// A restart resumes before the stored cursor too: the events just
		// before it may not all have been committed in stream order, and the
		// cursor may have come from another host, whose time_us differs.
		rewind = max(s.cfg.Rewind, s.cfg.FailoverRewind)
	)
	for {
		host := s.cfg.Hosts[hostIdx]
		resume := int64(0)
		if last > 0 {
			resume = max(last-rewind.Microseconds(), 1)
		}
		received, err := s.readOnce(ctx, host, resume, func(evt *models.Event) error {
			if evt.TimeUS > last {
				last = evt.TimeUS
			}
			return handle(evt)
		})
		s.setStatus(host, false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var herr *handlerError
		if errors.As(err, &herr) {
			return herr.err
		}
		s.cfg.Metrics.reconnects.WithLabelValues(hostLabel(host)).Inc()
		rewind = s.cfg.Rewind
		if received > 0 {
			failures, backoff = 0, s.cfg.MinBackoff
		} else {
			failures++
		}
		if failures >= s.cfg.FailuresBeforeFailover && len(s.cfg.Hosts) > 1 {
			hostIdx = (hostIdx + 1) % len(s.cfg.Hosts)
			failures = 0
			rewind = s.cfg.FailoverRewind
			s.log.Warn("jetstream: failing over", "from", host, "to", s.cfg.Hosts[hostIdx])
		}
		// Full jitter between half and all of the backoff, so a fleet of
		// replicas does not reconnect in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		s.log.Warn("jetstream: disconnected, reconnecting", "host", host, "err", err, "received", received, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if received == 0 {
			backoff = min(backoff*2, s.cfg.MaxBackoff)
		}
	}
}

// handlerError marks an error of the caller's handler, which ends Run.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// readOnce holds one connection until it fails; it returns how many events
// it received.
func (s *Subscriber) readOnce(ctx context.Context, host string, cursor int64, handle func(*models.Event) error) (int, error) {
	u, err := SubscribeURL(host, s.cfg.Collections, cursor, s.cfg.MaxMessageBytes)
	if err != nil {
		return 0, err
	}
	conn, resp, err := s.cfg.Dialer.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return 0, fmt.Errorf("dialing %s: %w (HTTP %d)", hostLabel(host), err, resp.StatusCode)
		}
		return 0, fmt.Errorf("dialing %s: %w", hostLabel(host), err)
	}
	defer conn.Close()
	s.setStatus(host, true)
	s.log.Info("jetstream: connected", "host", host, "cursor", cursor)

	deadline := 3 * s.cfg.PingInterval
	_ = conn.SetReadDeadline(time.Now().Add(deadline))
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(deadline))
	})

	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(s.cfg.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				// Unblock the read below.
				_ = conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				_ = conn.Close()
				return
			case <-t.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)); err != nil {
					return
				}
			}
		}
	}()

	received := 0
	limit := s.cfg.MaxMessageBytes
	for {
		typ, r, err := conn.NextReader()
		if err != nil {
			return received, fmt.Errorf("reading from %s: %w", hostLabel(host), err)
		}
		if typ != websocket.TextMessage {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return received, fmt.Errorf("reading from %s: %w", hostLabel(host), err)
			}
			continue
		}
		// Not SetReadLimit: it closes the connection, and the reconnect
		// resumes before the big event and meets it again, for ever. Read
		// at most limit+1 bytes, and stream the rest of a larger message
		// away: memory stays bounded and the stream goes on past it. Time
		// is bounded by the read deadline, which only a pong extends: a
		// server trickling one endless message holds us no longer than one
		// that sends nothing but pongs.
		msg, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(msg)) > limit {
			var rest int64
			rest, err = io.Copy(io.Discard, r)
			if err == nil {
				_ = conn.SetReadDeadline(time.Now().Add(deadline))
				received++
				s.cfg.Metrics.events.WithLabelValues("other", "").Inc()
				s.cfg.Metrics.rejected.WithLabelValues(ReasonOversized).Inc()
				s.rej.Warn(ReasonOversized, "jetstream: oversized message skipped", "host", host, "bytes", int64(len(msg))+rest, "limit", limit)
				continue
			}
		}
		if err != nil {
			return received, fmt.Errorf("reading from %s: %w", hostLabel(host), err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(deadline))
		received++
		var evt models.Event
		if err := json.Unmarshal(msg, &evt); err != nil {
			// One undecodable message is bad input, not a broken stream.
			s.cfg.Metrics.events.WithLabelValues("undecodable", "").Inc()
			s.cfg.Metrics.rejected.WithLabelValues(ReasonUndecodable).Inc()
			s.rej.Warn(ReasonUndecodable, "jetstream: undecodable message skipped", "host", host, "err", err)
			continue
		}
		if err := handle(&evt); err != nil {
			return received, &handlerError{err}
		}
	}
}

const (
	// ReasonUndecodable counts websocket messages that are not a jetstream event.
	ReasonUndecodable = "undecodable"
	// ReasonOversized counts messages over MaxMessageBytes, skipped unread.
	ReasonOversized = "message_too_large"
)

// SubscribeURL builds the /subscribe URL for host (a URL, or a bare host name
// meaning wss://host/subscribe). maxBytes > 0 asks the server to skip events
// longer than that (maxMessageSizeBytes).
func SubscribeURL(host string, collections []string, cursor, maxBytes int64) (string, error) {
	if !strings.Contains(host, "://") {
		host = "wss://" + host + "/subscribe"
	}
	u, err := url.Parse(host)
	if err != nil {
		return "", fmt.Errorf("bad jetstream URL %q: %w", host, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("bad jetstream URL %q: scheme must be ws or wss", host)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/subscribe"
	}
	q := u.Query()
	q.Del("wantedCollections")
	for _, c := range collections {
		q.Add("wantedCollections", c)
	}
	q.Del("cursor")
	if cursor > 0 {
		q.Set("cursor", strconv.FormatInt(cursor, 10))
	}
	q.Del("maxMessageSizeBytes")
	if maxBytes > 0 {
		q.Set("maxMessageSizeBytes", strconv.FormatInt(maxBytes, 10))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// hostLabel is the host part of a jetstream URL, for logs and metric labels.
func hostLabel(host string) string {
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		return u.Host
	}
	return host
}
