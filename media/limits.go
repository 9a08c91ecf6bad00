package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bounds on what one file may cost. A file past any of them is refused with
// ErrInvalid, never read further.
const (
	// MaxDuration is the longest track taken: past it a header (or a frame
	// count) is taken to lie. It also bounds the MP3 frame walk: 24 h of
	// the shortest frames (MPEG-1 layer I at 48 kHz, 8 ms) is 10.8 million.
	MaxDuration = 24 * time.Hour
	// MaxHeaderBytes is the read budget of every header parser (everything
	// but the MP3 frame walk, which reads the file once).
	MaxHeaderBytes = 1 << 20
	// MaxBoxes and MaxBoxDepth bound the ISO BMFF (m4a) box walk.
	MaxBoxes    = 10000
	MaxBoxDepth = 8
	// MaxChunks bounds the RIFF chunk walk of a WAV.
	MaxChunks = 1024
	// MaxJunk is the most garbage taken between two MP3 frames (a stray
	// tag, a broken frame) before the file is refused.
	MaxJunk = 64 << 10
	// MaxOggTail is how far back from the end the last Ogg page of the
	// stream is looked for (a page is at most 65307 bytes).
	MaxOggTail = 1 << 20
	// MaxID3Tags is how many ID3v2 tags in a row are skipped before audio.
	MaxID3Tags = 4

	// MaxArtworkBytes and MaxArtworkSide bound a cover image.
	MaxArtworkBytes = 5 << 20
	MaxArtworkSide  = 4096
)

var (
	// ErrUnsupported: the file is not one relay takes (its message names
	// what it looks like). An upload endpoint answers it with 400.
	ErrUnsupported = errors.New("unsupported file")
	// ErrInvalid: the file claims a format relay takes but is truncated,
	// malformed, or past a bound. Also a 400.
	ErrInvalid = errors.New("invalid file")
)

// invalid builds an ErrInvalid whose text is fit for a client: only our
// words and numbers, never bytes of the file.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

var errBudget = errors.New("read budget exceeded")

// src is the one way a parser reads a file: at most size bytes of it, at
// most budget bytes in all, and not after ctx is done. Each Read or ReadAt
// is one check, so the deadline of ctx bounds the time of any parser.
type src struct {
	ctx  context.Context
	r    io.ReaderAt
	size int64
	left int64
}

func newSrc(ctx context.Context, r io.ReaderAt, size, budget int64) *src {
	return &src{ctx: ctx, r: r, size: size, left: budget}
}

func (s *src) ReadAt(p []byte, off int64) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= s.size {
		return 0, io.EOF
	}
	short := false
	if int64(len(p)) > s.size-off {
		p = p[:s.size-off]
		short = true
	}
	if int64(len(p)) > s.left {
		return 0, errBudget
	}
	s.left -= int64(len(p))
	n, err := s.r.ReadAt(p, off)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

// full reads exactly len(p) bytes at off, or says why not.
func (s *src) full(p []byte, off int64) error {
	n, err := s.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readErr turns a read failure into the error the caller returns: the
// context's own error stays itself (the endpoint answers it as a timeout,
// not a 400), a short file or a spent budget is ErrInvalid.
func readErr(what string, err error) error {
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrUnsupported):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("%s: file is truncated", what)
	case errors.Is(err, errBudget):
		return invalid("%s: headers larger than relay reads", what)
	default:
		return invalid("%s: malformed (%s)", what, clean(err.Error()))
	}
}

// clean keeps a library's error text fit for a client: printable ASCII,
// at most 120 bytes (some quote the bytes they choked on).
func clean(s string) string {
	b := make([]byte, 0, min(len(s), 120))
	for i := 0; i < len(s) && len(b) < 120; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		} else {
			b = append(b, '?')
		}
	}
	return string(b)
}

// seconds rounds n units of 1/rate seconds to whole seconds, refusing a
// duration past MaxDuration (which also keeps the arithmetic from overflowing).
func seconds(what string, n, rate uint64) (int64, error) {
	if rate == 0 {
		return 0, invalid("%s: zero sample rate or timescale", what)
	}
	max := uint64(MaxDuration / time.Second)
	if n/rate > max {
		return 0, invalid("%s: duration past %d hours", what, max/3600)
	}
	return int64((n + rate/2) / rate), nil
}
