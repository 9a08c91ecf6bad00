package validate

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The lexicon's datetime, uri, did and handle formats, as indigo's
// syntax.ParseDatetime, ParseURI, ParseDID and ParseHandle decide them,
// without their regular expressions: the datetime and uri regexps were 30%
// of the fast path's time on a typical record, the did and handle ones 20%
// on a record with features (BenchmarkTrack, cpu profiles). FuzzDatetimeAgrees,
// FuzzURIAgrees, FuzzDIDAgrees and FuzzHandleAgrees hold each to indigo's
// parser; the other formats call indigo's own.

var (
	errDatetime = errors.New("not a datetime")
	errURI      = errors.New("not a uri")
	errDID      = errors.New("not a did")
	errHandle   = errors.New("not a handle")
	errTID      = errors.New("not a tid")
	errCID      = errors.New("not a cid")
)

// astroZero is syntax's: no datetime before year zero.
var astroZero = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)

// checkDatetime is syntax.ParseDatetime.
func checkDatetime(v string) error {
	_, err := parseDatetime(v)
	return err
}

// parseDatetime is syntax.ParseDatetime and Datetime.Time in one parse.
func parseDatetime(v string) (time.Time, error) {
	if v == "" || len(v) > 64 || !datetimeSyntax(v) || strings.HasSuffix(v, "-00:00") {
		return time.Time{}, errDatetime
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, err
	}
	if t.Before(astroZero) {
		return time.Time{}, errDatetime
	}
	return t, nil
}

func inRange(c, lo, hi byte) bool { return c >= lo && c <= hi }

// datetimeSyntax is syntax's datetimeRegex,
// ^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](.[0-9]{1,20})?(Z|([+-][0-2][0-9]:[0-5][0-9]))$
func datetimeSyntax(s string) bool {
	if len(s) < 20 {
		return false
	}
	for i, c := range []byte(s[:19]) {
		var ok bool
		switch i {
		case 4, 7:
			ok = c == '-'
		case 10:
			ok = c == 'T'
		case 13, 16:
			ok = c == ':'
		case 5:
			ok = inRange(c, '0', '1')
		case 8:
			ok = inRange(c, '0', '3')
		case 11:
			ok = inRange(c, '0', '2')
		case 14, 17:
			ok = inRange(c, '0', '6')
		default:
			ok = isDigit(c)
		}
		if !ok {
			return false
		}
	}
	// The zone is the end: "Z", or [+-][0-2][0-9]:[0-5][0-9].
	rest := s[19:]
	switch {
	case rest[len(rest)-1] == 'Z':
		rest = rest[:len(rest)-1]
	case len(rest) >= 6:
		z := rest[len(rest)-6:]
		if (z[0] != '+' && z[0] != '-') || !inRange(z[1], '0', '2') || !isDigit(z[2]) || z[3] != ':' || !inRange(z[4], '0', '5') || !isDigit(z[5]) {
			return false
		}
		rest = rest[:len(rest)-6]
	default:
		return false
	}
	if rest == "" {
		return true
	}
	// The fraction: any one character but a newline (the regexp's "."),
	// then 1 to 20 digits.
	r, size := utf8.DecodeRuneInString(rest)
	digits := rest[size:]
	if r == '\n' || len(digits) < 1 || len(digits) > 20 {
		return false
	}
	for _, c := range []byte(digits) {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// checkURI is syntax.ParseURI: ^[a-z][a-z.-]{0,80}:[[:graph:]]+$ and at
// most 8192 bytes.
func checkURI(v string) error {
	if v == "" || len(v) > 8192 || !inRange(v[0], 'a', 'z') {
		return errURI
	}
	// The scheme's characters cannot be ':', so the first ':' ends it.
	i := 1
	for i < len(v) && (inRange(v[i], 'a', 'z') || v[i] == '.' || v[i] == '-') {
		i++
	}
	if i > 81 || i == len(v) || v[i] != ':' || i+1 == len(v) {
		return errURI
	}
	for _, c := range []byte(v[i+1:]) {
		if c < '!' || c > '~' {
			return errURI
		}
	}
	return nil
}

func isAlnum(c byte) bool { return isDigit(c) || inRange(c, 'a', 'z') || inRange(c, 'A', 'Z') }

// checkDID is syntax.ParseDID: ^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$
// and at most 2048 bytes.
func checkDID(v string) error {
	if len(v) > 2048 || !strings.HasPrefix(v, "did:") {
		return errDID
	}
	i := 4
	for i < len(v) && inRange(v[i], 'a', 'z') {
		i++
	}
	if i == 4 || i == len(v) || v[i] != ':' {
		return errDID
	}
	id := v[i+1:]
	if id == "" {
		return errDID
	}
	for _, c := range []byte(id) {
		if !isAlnum(c) && c != '.' && c != '_' && c != ':' && c != '%' && c != '-' {
			return errDID
		}
	}
	if last := id[len(id)-1]; last == ':' || last == '%' {
		return errDID
	}
	return nil
}

// checkHandle is syntax.ParseHandle: at most 253 bytes of
// ^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$,
// that is two labels or more, each 1 to 63 letters, digits and inner
// hyphens, the last starting with a letter.
func checkHandle(v string) error {
	if v == "" || len(v) > 253 {
		return errHandle
	}
	labels := 0
	for rest := v; ; labels++ {
		label, after, more := strings.Cut(rest, ".")
		if len(label) < 1 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errHandle
		}
		for _, c := range []byte(label) {
			if !isAlnum(c) && c != '-' {
				return errHandle
			}
		}
		if !more {
			if labels == 0 || isDigit(label[0]) {
				return errHandle
			}
			return nil
		}
		rest = after
	}
}

// ParseTID is syntax.ParseTID without its regexp,
// ^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$ (FuzzTIDAgrees):
// every event's record key and rev are TIDs.
func ParseTID(raw string) (syntax.TID, error) {
	if len(raw) != 13 || !isTIDChar(raw[0]) || raw[0] > 'j' {
		return "", errTID
	}
	for _, c := range []byte(raw[1:]) {
		if !isTIDChar(c) {
			return "", errTID
		}
	}
	return syntax.TID(raw), nil
}

func isTIDChar(c byte) bool { return inRange(c, '2', '7') || inRange(c, 'a', 'z') }

// ParseCID is syntax.ParseCID without its regexp: 8 to 256 of
// [a-zA-Z0-9+=], not a CIDv0 (Qmb...) (FuzzCIDAgrees). It was a fifth of
// the indexer's ParseEvent once the record's own checks were fast.
func ParseCID(raw string) (syntax.CID, error) {
	if len(raw) < 8 || len(raw) > 256 || strings.HasPrefix(raw, "Qmb") {
		return "", errCID
	}
	for _, c := range []byte(raw) {
		if !isAlnum(c) && c != '+' && c != '=' {
			return "", errCID
		}
	}
	return syntax.CID(raw), nil
}

// plainURLByte marks the bytes url.Parse takes in a path or query as they
// are: letters, digits and -._~/!$&'()*+,;=:@? (no %, #, space or
// control).
var plainURLByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c)) || strings.IndexByte("-._~/!$&'()*+,;=:@?", byte(c)) >= 0
	}
	return t
}()

// plainHTTPS is a sufficient test for IsHTTPS without url.Parse, which was
// a fifth of the fast path's time: https://, a host of lower-case letters,
// digits, dots and hyphens (no userinfo, port or escapes), then nothing or
// a path of plainURLByte. True means IsHTTPS is true; false means ask
// IsMediaURL (FuzzPlainHTTPS).
func plainHTTPS(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		return false
	}
	i := 0
	for i < len(rest) && (inRange(rest[i], 'a', 'z') || isDigit(rest[i]) || rest[i] == '.' || rest[i] == '-') {
		i++
	}
	if i == 0 || (i < len(rest) && rest[i] != '/') {
		return false
	}
	for _, c := range []byte(rest[i:]) {
		if !plainURLByte[c] {
			return false
		}
	}
	return true
}
