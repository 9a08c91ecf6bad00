package appview

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits bound what one client can hold of the server: time to send a
// request, header size, and how many requests are served at once. The zero
// value of each field takes its default.
type Limits struct {
	// ReadHeaderTimeout bounds reading the request line and headers (5s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included (10s).
	// Queries take no body, so this is the headers plus slack; a client
	// that announces a body and trickles it is cut off here.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the response (30s).
	WriteTimeout time.Duration
	// IdleTimeout bounds a kept-alive connection between requests (2m).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers (16 KiB; net/http
	// adds 4 KiB of slack). Past it net/http answers 431.
	MaxHeaderBytes int
	// MaxInFlight bounds requests being served at once (256 when zero or
	// less); one more is answered 503 at once rather than queued without
	// end.
	MaxInFlight int
}

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 5*time.Second)
	def(&l.ReadTimeout, 10*time.Second)
	def(&l.WriteTimeout, 30*time.Second)
	def(&l.IdleTimeout, 2*time.Minute)
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = 16 << 10
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = 256
	}
	return l
}

// HTTPServer returns an http.Server serving s within its limits (set by
// Config.Limits). The caller runs it (Serve) and stops it (Shutdown).
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout:       s.limits.ReadTimeout,
		WriteTimeout:      s.limits.WriteTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		MaxHeaderBytes:    s.limits.MaxHeaderBytes,
	}
}

// ServeHTTP implements http.Handler: the headers every answer carries, the
// bound on requests in flight, and the refusal of bodies on reads, before
// routing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(r.URL.Path, "/xrpc/") {
		h.Set("Access-Control-Allow-Origin", "*") // XRPC queries are public
		if r.Method == http.MethodOptions {
			// A preflight carries no body and reads nothing: answered
			// here, before the in-flight bound and routing.
			writePreflight(w)
			return
		}
	}
	select {
	case s.inFlight <- struct{}{}:
		defer func() { <-s.inFlight }()
	default:
		s.metrics.requests.WithLabelValues(s.metricMethod(r), strconv.Itoa(http.StatusServiceUnavailable)).Inc()
		h.Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, &xrpcError{Name: "Overloaded", Message: "too many requests in flight; try again shortly"})
		return
	}
	// Nothing served here reads a body, and a body not read is drained
	// before net/http answers: refuse it and close, so a client cannot hold
	// the connection by announcing a body it never sends.
	if r.ContentLength != 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.metrics.requests.WithLabelValues(s.metricMethod(r), strconv.Itoa(http.StatusBadRequest)).Inc()
		h.Set("Connection", "close")
		writeJSON(w, http.StatusBadRequest, &xrpcError{Name: "InvalidRequest", Message: "a query takes no request body"})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// metricMethod is the method label of r: a query this server registered, or
// "other", so clients cannot grow the metric's series.
func (s *Server) metricMethod(r *http.Request) string {
	if m := methodName(r); s.queries[m] {
		return m
	}
	return "other"
}
