package outbound

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrTooLarge is returned by a body read past its cap.
var ErrTooLarge = errors.New("response body too large")

// LimitBody wraps rc so that reading more than n bytes fails with an error
// wrapping ErrTooLarge; the first n bytes read as usual. A body that is cut
// silently would be parsed as if it were whole.
func LimitBody(rc io.ReadCloser, n int64) io.ReadCloser {
	return &limited{rc: rc, left: n, max: n}
}

type limited struct {
	rc        io.ReadCloser
	left, max int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.tooLarge()
	}
	// One byte past the cap is enough to know it was crossed.
	if int64(len(p))-1 > l.left { // not l.left+1: n may be math.MaxInt64
		p = p[:l.left+1]
	}
	k, err := l.rc.Read(p)
	if int64(k) > l.left {
		k = int(l.left)
		l.left = -1
		return k, l.tooLarge()
	}
	l.left -= int64(k)
	return k, err
}

func (l *limited) tooLarge() error {
	return fmt.Errorf("%w: over %d bytes", ErrTooLarge, l.max)
}

func (l *limited) Close() error { return l.rc.Close() }

// ReasonMax is how many characters of remote text Reason and Sanitize keep.
const ReasonMax = 100

// reasonRead bounds what Reason reads of an error body.
const reasonRead = 8 << 10

// Reason describes an error response in one short line fit for logs and the
// database: the status, and the XRPC error name and message (or the start of
// the body) sanitized to at most ReasonMax characters. It reads at most 8 KB
// of the body and does not close it.
func Reason(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, reasonRead))
	text := string(b)
	var x struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &x) == nil && (x.Error != "" || x.Message != "") {
		text = strings.TrimSuffix(x.Error+": "+x.Message, ": ")
		text = strings.TrimPrefix(text, ": ")
	}
	s := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if t := Sanitize(text, ReasonMax); t != "" {
		s += ": " + t
	}
	return s
}

// Sanitize keeps at most max printable characters of s: control and format
// characters go (no terminal escapes, no forged log lines), runs of white
// space become one space, invalid UTF-8 becomes U+FFFD, and a cut is marked
// with "…".
func Sanitize(s string, max int) string {
	var b strings.Builder
	n := 0
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case !unicode.IsPrint(r):
			continue
		}
		if space {
			if n == max {
				b.WriteString("…")
				return b.String()
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		if n == max {
			b.WriteString("…")
			return b.String()
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
