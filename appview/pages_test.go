package appview

import (
	"errors"
	"net/http"
	"testing"
)

func TestPageError(t *testing.T) {
	plain := errors.New("disk on fire")
	for _, tc := range []struct {
		name              string
		in                error
		notFound, invalid bool
		same              bool
	}{
		{"not found", notFound("no such artist"), true, false, false},
		{"bad request", invalidRequest("bad actor"), true, false, false},
		{"another 4xx", &xrpcError{Status: http.StatusConflict, Name: "Conflict", Message: "x"}, false, true, false},
		{"a timeout is the server's", &xrpcError{Status: http.StatusServiceUnavailable, Name: "Timeout", Message: "too slow"}, false, false, false},
		{"not an xrpc error", plain, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pageError(tc.in)
			if errors.Is(got, ErrNotFound) != tc.notFound || errors.Is(got, ErrInvalid) != tc.invalid || (got == plain) != tc.same {
				t.Fatalf("pageError(%v) = %v: notFound %v invalid %v", tc.in, got, errors.Is(got, ErrNotFound), errors.Is(got, ErrInvalid))
			}
		})
	}
}
