package appview

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	// goccy's encoder writes a feed page five times faster than
	// encoding/json, which re-compacts every stored record (RawMessage).
	"github.com/goccy/go-json"
)

// xrpcError is an XRPC error body.
type xrpcError struct {
	Status  int    `json:"-"`
	Name    string `json:"error"`
	Message string `json:"message"`
}

func (e *xrpcError) Error() string { return e.Name + ": " + e.Message }

func invalidRequest(format string, args ...any) *xrpcError {
	return &xrpcError{Status: http.StatusBadRequest, Name: "InvalidRequest", Message: fmt.Sprintf(format, args...)}
}

// rawJSON is a response body already encoded (a cached page).
type rawJSON []byte

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if b, ok := v.(rawJSON); ok {
		_, _ = w.Write(b)
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// encodeJSON encodes v as writeJSON does.
func encodeJSON(v any) (rawJSON, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding response: %w", err)
	}
	return buf.Bytes(), nil
}

// writeError answers with an XRPC error; anything that is not one is logged
// and hidden behind a generic 500.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var xe *xrpcError
	if !errors.As(err, &xe) {
		log.ErrorContext(r.Context(), "xrpc request failed", "method", methodName(r), "err", err)
		xe = &xrpcError{Status: http.StatusInternalServerError, Name: "InternalServerError", Message: "internal error"}
	}
	writeJSON(w, xe.Status, xe)
}

// limitParam reads limit (1..100, default 50), as every list endpoint takes it.
func limitParam(q url.Values) (int, error) {
	raw := q.Get("limit")
	if raw == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 100 {
		return 0, invalidRequest("limit must be an integer from 1 to 100, got %q", raw)
	}
	return n, nil
}
