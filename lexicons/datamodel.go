package lexicons

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxDepth bounds how deeply objects and arrays may nest in a record (the
// record object itself is level 1). app.relay.track needs 3 (features[] of
// objects); anything far deeper is only there to break decoders: a stored
// record is served inside every page that lists it, and 10,000 levels make
// Go's encoding/json and Python's json fail on the whole page.
const MaxDepth = 32

var (
	// ErrTooDeep: objects and arrays nest deeper than MaxDepth.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrInvalidUTF8: a string holds bytes that are not UTF-8, or a \u
	// escape of an unpaired surrogate.
	ErrInvalidUTF8 = errors.New("string is not valid UTF-8")
)

// errMalformed ends the scan of input that is not JSON: the decoder that
// follows reports that better.
var errMalformed = errors.New("malformed")

// CheckJSON checks what the ATProto data model asks of a JSON record beyond
// JSON itself, before anything decodes it: nesting at most MaxDepth, and
// strings (keys too) of Unicode text. It is a single pass over the bytes with
// a depth counter, no recursion, allocating only its error, so a 10,000-level
// record costs no more than its first MaxDepth+1 brackets.
//
// An escaped unpaired surrogate ("\ud800") is rejected as invalid UTF-8
// although its bytes are ASCII: it names no Unicode character, dag-cbor (the
// record's real encoding) cannot hold it, strict decoders refuse it, and Go's
// quietly turns it into U+FFFD, so what we validated would not be what we
// store and serve. Paired surrogates ("\ud83c\udfb5") are one character and
// pass.
//
// Input that is not JSON at all is left to the decoder: CheckJSON returns
// nil once it stops making sense.
func CheckJSON(raw []byte) error {
	depth := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return fmt.Errorf("%w: more than %d levels of objects and arrays", ErrTooDeep, MaxDepth)
			}
		case '}', ']':
			depth--
		case '"':
			end, err := scanString(raw, i+1)
			if errors.Is(err, errMalformed) {
				return nil
			}
			if err != nil {
				return err
			}
			i = end
		}
	}
	return nil
}

// scanString checks the string body starting at raw[i] and returns the index
// of its closing quote.
func scanString(raw []byte, i int) (int, error) {
	for i < len(raw) {
		c := raw[i]
		switch {
		case c == '"':
			return i, nil
		case c == '\\':
			if i+1 >= len(raw) {
				return 0, errMalformed
			}
			if raw[i+1] != 'u' {
				i += 2
				continue
			}
			r, ok := hex4(raw, i+2)
			if !ok {
				return 0, errMalformed
			}
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return 0, fmt.Errorf("%w: unpaired low surrogate \\u%04x", ErrInvalidUTF8, r)
			case r >= 0xD800 && r <= 0xDBFF:
				lo, ok := rune(0), false
				if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
					lo, ok = hex4(raw, i+8)
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return 0, fmt.Errorf("%w: unpaired high surrogate \\u%04x", ErrInvalidUTF8, r)
				}
				i += 12
			default:
				i += 6
			}
		case c < utf8.RuneSelf:
			i++
		default:
			// DecodeRune refuses overlong forms and UTF-8-encoded surrogates.
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, fmt.Errorf("%w: bad byte 0x%02x", ErrInvalidUTF8, c)
			}
			i += size
		}
	}
	return 0, errMalformed
}

// hex4 reads the four hex digits at raw[i:i+4].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
