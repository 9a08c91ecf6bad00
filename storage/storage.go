package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Store is where relay keeps uploaded media, by Key (passed as its string).
type Store interface {
	// Put stores size bytes from r under key with contentType (empty: the
	// key's own, Key.ContentType; any other is refused). An existing key is
	// left as it is and r is not read: keys are content hashes, so the same
	// key holds the same bytes. Partial writes never become visible under
	// key: r failing, r giving more or fewer than size bytes, content whose
	// sha256 is not the key's, or ctx done, leave nothing there.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Delete removes key; a missing key is no error.
	Delete(ctx context.Context, key string) error
	// Exists reports whether key is stored.
	Exists(ctx context.Context, key string) (bool, error)
	// URL is the URL a record names for key: {publicBase}/{key} where this
	// service serves it (local, r2 with signed URLs), the bucket's public
	// URL otherwise; "" for a string that is not a valid key.
	URL(key string) string
}

// ErrDigestMismatch is Put's error for content whose sha256 is not the one
// its key names.
var ErrDigestMismatch = errors.New("content does not match its key's sha256")

// checkPut is what every backend checks before reading a byte.
func checkPut(key string, size int64, contentType string) (Key, error) {
	k, err := ParseKey(key)
	if err != nil {
		return Key{}, err
	}
	if size < 0 {
		return Key{}, fmt.Errorf("storing %s: negative size %d", k, size)
	}
	if contentType != "" && contentType != k.ContentType() {
		return Key{}, fmt.Errorf("storing %s: content type %q, want %q (the key's extension decides)", k, contentType, k.ContentType())
	}
	return k, nil
}

// exactReader reads exactly size bytes from r, hashing them: it fails with
// the read that would go past size (more than announced) or with an EOF
// before size (io.ErrUnexpectedEOF), and stops when ctx is done. After its
// io.EOF, verify tells whether the bytes match the key.
type exactReader struct {
	ctx  context.Context
	r    io.Reader
	left int64
	h    hash.Hash
}

func newExactReader(ctx context.Context, r io.Reader, size int64) *exactReader {
	return &exactReader{ctx: ctx, r: r, left: size, h: sha256.New()}
}

func (e *exactReader) Read(p []byte) (int, error) {
	if err := e.ctx.Err(); err != nil {
		return 0, err
	}
	if e.left == 0 {
		// Exactly size read: one more byte means the caller lied.
		var one [1]byte
		n, err := io.ReadFull(e.r, one[:])
		if n > 0 {
			return 0, errTooLong
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.h.Write(p[:n])
	e.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if e.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}

var errTooLong = errors.New("reader gave more bytes than the size announced")

// verify is nil when all size bytes were read and hash to k's sha256.
func (e *exactReader) verify(k Key) error {
	if e.left != 0 {
		return io.ErrUnexpectedEOF
	}
	if got := hex.EncodeToString(e.h.Sum(nil)); got != k.SHA256() {
		return fmt.Errorf("storing %s: got sha256 %s: %w", k, got, ErrDigestMismatch)
	}
	return nil
}

// parseBase checks a public base URL ("http://127.0.0.1:8080",
// "https://media.example.com/x") and returns it without a trailing slash.
func parseBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("public base %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("public base %q: want http(s)://host[/path], no query", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// keyURL is base/key for a valid key, "" otherwise.
func keyURL(base, key string) string {
	k, err := ParseKey(key)
	if err != nil {
		return ""
	}
	return base + "/" + k.String()
}

// requestKey is the key a media request names: its path less the leading
// slash, nothing escaped (a valid key needs no escape, so %2F and friends
// are refused rather than decoded).
func requestKey(r *http.Request) (Key, error) {
	if r.URL.RawPath != "" || strings.Contains(r.URL.EscapedPath(), "%") {
		return Key{}, errors.New("escaped media path")
	}
	return ParseKey(strings.TrimPrefix(r.URL.Path, "/"))
}

// setMediaHeaders are the headers every media answer carries: the type
// from the key (never sniffed), cached for good (a key is its content's
// hash), and inert if opened as a page.
func setMediaHeaders(h http.Header, k Key) {
	h.Set("Content-Type", k.ContentType())
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("ETag", `"`+k.SHA256()+`"`)
}
