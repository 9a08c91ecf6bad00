// Package jetstreamtest is an in-process server that speaks jetstream's v1
// /subscribe wire byte for byte from a list of recorded frames, for tests of
// consumers: it honours cursor and wantedCollections as the real server does,
// records what each connection asked for, and can drop connections
// mid-stream. maxMessageSizeBytes is recorded but not honoured: it stands for
// a server that sends a large event anyway, so a consumer's own limit can be
// tested. Generate makes a deterministic synthetic stream together with
// the end state it must produce, and Expected.CheckStore compares a store
// with that state. The real jetstream server runs in the end-to-end tests.
package jetstreamtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Frame is one recorded text message and the fields the server filters on.
type Frame struct {
	Raw        []byte
	TimeUS     int64
	Kind       string
	Collection string
}

// ParseFrame reads the fields the server needs from a raw event.
func ParseFrame(raw []byte) (Frame, error) {
	var ev struct {
		TimeUS int64  `json:"time_us"`
		Kind   string `json:"kind"`
		Commit *struct {
			Collection string `json:"collection"`
		} `json:"commit"`
	}
	f := Frame{Raw: raw}
	if err := json.Unmarshal(raw, &ev); err != nil {
		// Malformed frames are served as they are, to test the consumer.
		return f, nil
	}
	f.TimeUS, f.Kind = ev.TimeUS, ev.Kind
	if ev.Commit != nil {
		f.Collection = ev.Commit.Collection
	}
	return f, nil
}

// LoadFrames reads one frame per non-empty line of a file.
func LoadFrames(path string) ([]Frame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading frames: %w", err)
	}
	var out []Frame
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		f, err := ParseFrame(append([]byte(nil), line...))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, sc.Err()
}

// Request is what one connection asked for.
type Request struct {
	Cursor      int64 // 0: none
	Collections []string
	// MaxMessageSizeBytes is the size cap asked for (0: none).
	MaxMessageSizeBytes int64
	// LastSent is the time_us of the last frame this connection sent.
	LastSent int64
}

// Server serves frames on /subscribe.
type Server struct {
	*httptest.Server

	mu     sync.Mutex
	frames []Frame
	// dropAfter: close each connection after this many frames (0: never),
	// for the first dropTimes connections.
	dropAfter, dropTimes int
	requests             []Request
	delivered            int
	wake                 chan struct{}
	pace                 time.Duration
}

// NewServer starts a server on loopback serving frames.
func NewServer(frames []Frame) *Server {
	s := &Server{frames: frames, wake: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.subscribe))
	return s
}

// URL is the ws:// URL of /subscribe.
func (s *Server) URL() string {
	return "ws" + strings.TrimPrefix(s.Server.URL, "http") + "/subscribe"
}

// DropConnections makes the next `times` connections close after `after` frames each.
func (s *Server) DropConnections(after, times int) {
	s.mu.Lock()
	s.dropAfter, s.dropTimes = after, times
	s.mu.Unlock()
}

// Pace waits d between frames (0: as fast as the socket takes them).
func (s *Server) Pace(d time.Duration) {
	s.mu.Lock()
	s.pace = d
	s.mu.Unlock()
}

// Append adds frames; open connections send them too.
func (s *Server) Append(frames ...Frame) {
	s.mu.Lock()
	s.frames = append(s.frames, frames...)
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// Requests returns what every connection so far asked for.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Delivered counts frames written to all connections.
func (s *Server) Delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/subscribe" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	req := Request{Collections: q["wantedCollections"]}
	if c := q.Get("cursor"); c != "" {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			http.Error(w, "bad cursor", http.StatusBadRequest)
			return
		}
		req.Cursor = v
	}
	if m := q.Get("maxMessageSizeBytes"); m != "" {
		v, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			http.Error(w, "bad maxMessageSizeBytes", http.StatusBadRequest)
			return
		}
		req.MaxMessageSizeBytes = v
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	// Read (and so answer pings and notice a close) in the background.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()

	s.mu.Lock()
	s.requests = append(s.requests, req)
	reqIdx := len(s.requests) - 1
	drop := 0
	if s.dropTimes > 0 {
		drop = s.dropAfter
		s.dropTimes--
	}
	// Like jetstream: no cursor means the live tip; a cursor replays from the
	// first event at or after it.
	next := len(s.frames)
	if req.Cursor > 0 {
		next = 0
		for next < len(s.frames) && s.frames[next].TimeUS < req.Cursor {
			next++
		}
	}
	s.mu.Unlock()

	sent := 0
	for {
		s.mu.Lock()
		if next >= len(s.frames) {
			wake := s.wake
			s.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-closed:
				return
			case <-r.Context().Done():
				return
			}
		}
		f, pace := s.frames[next], s.pace
		s.mu.Unlock()
		next++
		if !wanted(f, req.Collections) {
			continue
		}
		if err := conn.WriteMessage(websocket.TextMessage, f.Raw); err != nil {
			return
		}
		sent++
		s.mu.Lock()
		s.delivered++
		if f.TimeUS > 0 {
			s.requests[reqIdx].LastSent = f.TimeUS
		}
		s.mu.Unlock()
		if drop > 0 && sent >= drop {
			return // an abrupt close, as a network failure looks
		}
		if pace > 0 {
			time.Sleep(pace)
		}
	}
}

// wanted applies wantedCollections as jetstream does: identity and account
// events always pass.
func wanted(f Frame, collections []string) bool {
	if f.Kind != "commit" || len(collections) == 0 {
		return true
	}
	for _, c := range collections {
		if c == f.Collection || (strings.HasSuffix(c, ".*") && strings.HasPrefix(f.Collection, strings.TrimSuffix(c, "*"))) {
			return true
		}
	}
	return false
}
