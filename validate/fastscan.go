package validate

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
)

// The fast path's reader: one pass over the record's JSON that checks it
// as encoding/json's decoder would (the syntax), as indigo's atdata would
// (the data model: integers only, $type, key lengths), and as the lexicon
// asks (plan), decoding the known fields straight into the typed form.
//
// Three outcomes. errJSON: the input is not JSON the decoder takes, so
// indigo's path rejects it whatever else it holds. errFallback: a shape
// whose handling here would be a guess (a duplicate key, whose earlier
// value the decoder drops unchecked; an escaped key; $link, $bytes and
// blobs; a lone surrogate), left to indigo's path. Otherwise the record is
// accepted unless a rule was broken (scan.bad): breaking one is not final
// until the end, since only a full read shows there is no duplicate to
// fall back on.

var (
	errJSON     = errors.New("record is not valid JSON")
	errFallback = errors.New("left to the reference validator")
)

// maxKeys bounds the unknown keys held at once for duplicate detection (the
// search is linear); a record with more goes to indigo.
const maxKeys = 64

// maxKeyBytes is atdata's MAX_OBJECT_KEY_LEN.
const maxKeyBytes = 8192

type scan struct {
	s string
	i int
	// bad names the first rule broken, and badField the field it concerns ("" for the record).
	bad, badField string
	// keys[:nkeys] are the unknown keys of the objects being read,
	// innermost last (an array, not a slice, so a scan stays on the stack).
	keys  [maxKeys]string
	nkeys int
}

// trackForm is the typed form of a record.
type trackForm struct {
	seen     uint32 // bit set of fields present
	str      [nFields]string
	integer  [nFields]int64
	tags     []string
	features []relay.Feature
	// created is createdAt parsed, when its format (datetime) was checked
	// by parsing it.
	created    time.Time
	hasCreated bool
}

func (sc *scan) violate(field, rule string) {
	if sc.bad == "" {
		sc.bad, sc.badField = rule, field
	}
}

func (sc *scan) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// peek is the next byte, 0 at the end.
func (sc *scan) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

// str reads a string at sc.i (its opening quote) and returns its raw body
// and whether it holds escapes.
func (sc *scan) str() (string, bool, error) {
	start := sc.i + 1
	j, escaped := start, false
	for {
		if j >= len(sc.s) {
			return "", false, errJSON
		}
		c := sc.s[j]
		switch {
		case c == '"':
			sc.i = j + 1
			return sc.s[start:j], escaped, nil
		case c < 0x20:
			return "", false, errJSON
		case c == '\\':
			escaped = true
			if j+1 >= len(sc.s) {
				return "", false, errJSON
			}
			switch sc.s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if _, ok := hex4(sc.s, j+2); !ok {
					return "", false, errJSON
				}
				j += 6
			default:
				return "", false, errJSON
			}
		default:
			j++
		}
	}
}

// text reads a string value, decoded.
func (sc *scan) text() (string, error) {
	raw, escaped, err := sc.str()
	if err != nil || !escaped {
		return raw, err
	}
	return unescape(raw)
}

// unescape decodes the escapes of a string body str has checked. The bytes
// between them are UTF-8 already (lexicons.CheckJSON).
func unescape(raw string) (string, error) {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, _ := hex4(raw, i+2)
			i += 6
			if utf16.IsSurrogate(r) {
				lo, ok := rune(0), false
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					lo, ok = hex4(raw, i+2)
				}
				d := utf16.DecodeRune(r, lo)
				if !ok || d == utf8.RuneError {
					// CheckJSON refuses lone surrogates; should one get
					// here, the decoder's U+FFFD is not ours to mimic.
					return "", errFallback
				}
				r = d
				i += 6
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[i+1])
		}
		i += 2
	}
	return string(b), nil
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads a number by JSON's grammar and returns it as atdata does:
// encoding/json's float64, then an integer if it is one.
func (sc *scan) number() (v int64, integral bool, err error) {
	s, start := sc.s, sc.i
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return 0, false, errJSON
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return 0, false, errJSON
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return 0, false, errJSON
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	sc.i = i
	// The decoder's conversion: out of float64's range, it fails.
	f, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil {
		return 0, false, errJSON
	}
	// atdata's test, as written (it decides the edges, 2^63 included).
	if f != float64(int64(f)) {
		return 0, false, nil
	}
	return int64(f), true, nil
}

func (sc *scan) literal(word string) error {
	if len(sc.s)-sc.i < len(word) || sc.s[sc.i:sc.i+len(word)] != word {
		return errJSON
	}
	sc.i += len(word)
	return nil
}

// value reads any value inside a container at depth, checking it against
// the data model only (a field the lexicon does not name).
func (sc *scan) value(depth int) error {
	switch c := sc.peek(); {
	case c == '{':
		return sc.object(depth + 1)
	case c == '[':
		return sc.array(depth + 1)
	case c == '"':
		_, _, err := sc.str()
		return err
	case c == 't':
		return sc.literal("true")
	case c == 'f':
		return sc.literal("false")
	case c == 'n':
		return sc.literal("null")
	case c == '-' || isDigit(c):
		_, integral, err := sc.number()
		if err == nil && !integral {
			sc.violate("", "a number that is not an integer")
		}
		return err
	default:
		return errJSON
	}
}

func (sc *scan) array(depth int) error {
	if depth > lexicons.MaxDepth {
		return errFallback // CheckJSON stops this first
	}
	sc.i++
	sc.ws()
	if sc.peek() == ']' {
		sc.i++
		return nil
	}
	for {
		sc.ws()
		if err := sc.value(depth); err != nil {
			return err
		}
		sc.ws()
		switch sc.peek() {
		case ',':
			sc.i++
		case ']':
			sc.i++
			return nil
		default:
			return errJSON
		}
	}
}

// key reads an object key and the colon after it.
func (sc *scan) key() (string, error) {
	if sc.peek() != '"' {
		return "", errJSON
	}
	k, escaped, err := sc.str()
	if err != nil {
		return "", err
	}
	sc.ws()
	if sc.peek() != ':' {
		return "", errJSON
	}
	sc.i++
	sc.ws()
	if escaped {
		// Compared raw below; an escaped key could name a known field.
		return "", errFallback
	}
	return k, nil
}

// unknownKey registers a key the lexicon does not name for the object
// whose keys start at base: a duplicate goes to indigo.
func (sc *scan) unknownKey(k string, base int) error {
	for _, o := range sc.keys[base:sc.nkeys] {
		if o == k {
			return errFallback
		}
	}
	if sc.nkeys == maxKeys {
		return errFallback
	}
	sc.keys[sc.nkeys] = k
	sc.nkeys++
	return nil
}

// special reads the value of a key the data model gives a meaning to in
// any object, or of any other key the lexicon does not name; it reports
// whether the key was mimeType or cid (a legacy blob has just those two).
func (sc *scan) special(k string, depth int) (blobKey bool, err error) {
	switch k {
	case "$link", "$bytes":
		return false, errFallback
	case "$type":
		if sc.peek() != '"' {
			sc.violate("$type", "not a string")
			return false, sc.value(depth)
		}
		t, err := sc.text()
		if err != nil {
			return false, err
		}
		switch t {
		case "blob":
			return false, errFallback
		case "":
			sc.violate("$type", "empty")
		}
		return false, nil
	}
	if len(k) > maxKeyBytes {
		sc.violate("", "an object key too long")
	}
	return k == "mimeType" || k == "cid", sc.value(depth)
}

// object reads an object the lexicon does not describe.
func (sc *scan) object(depth int) error {
	if depth > lexicons.MaxDepth {
		return errFallback
	}
	sc.i++
	sc.ws()
	if sc.peek() == '}' {
		sc.i++
		return nil
	}
	base := sc.nkeys
	n, blobKeys := 0, 0
	for {
		sc.ws()
		k, err := sc.key()
		if err != nil {
			return err
		}
		if err := sc.unknownKey(k, base); err != nil {
			return err
		}
		n++
		blob, err := sc.special(k, depth)
		if err != nil {
			return err
		}
		if blob {
			blobKeys++
		}
		sc.ws()
		if c := sc.peek(); c == '}' {
			sc.i++
			break
		} else if c != ',' {
			return errJSON
		}
		sc.i++
	}
	sc.nkeys = base
	if n == 2 && blobKeys == 2 {
		return errFallback // a legacy blob
	}
	return nil
}

// end reads past the closing brace or a comma; done after the brace.
func (sc *scan) next(closing byte) (done bool, err error) {
	sc.ws()
	switch sc.peek() {
	case ',':
		sc.i++
		sc.ws()
		return false, nil
	case closing:
		sc.i++
		return true, nil
	}
	return false, errJSON
}

// record reads the whole record into f.
func (sc *scan) record(p *trackPlan, f *trackForm) error {
	sc.ws()
	if sc.peek() != '{' {
		// null, an array, a string or a number: never a record.
		return errJSON
	}
	sc.i++
	sc.ws()
	typed := false
	if sc.peek() == '}' {
		sc.i++
	} else {
		for {
			k, err := sc.key()
			if err != nil {
				return err
			}
			if id, ok := fieldIndex[k]; ok {
				if f.seen&(1<<id) != 0 {
					return errFallback
				}
				f.seen |= 1 << id
				err = sc.field(p, f, id)
			} else if err = sc.unknownKey(k, 0); err == nil {
				if k == "$type" && sc.peek() == '"' {
					var t string
					if t, err = sc.text(); t != relay.TrackCollection {
						sc.violate("$type", "not "+relay.TrackCollection)
					}
					typed = true
				} else {
					_, err = sc.special(k, 1)
				}
			}
			if err != nil {
				return err
			}
			done, err := sc.next('}')
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	sc.ws()
	if sc.i != len(sc.s) {
		return errJSON
	}
	if !typed {
		sc.violate("$type", "missing or not "+relay.TrackCollection)
	}
	if missing := p.required &^ f.seen; missing != 0 {
		for i := range nFields {
			if missing&(1<<i) != 0 {
				sc.violate(trackFields[i].name, "required")
				break
			}
		}
	}
	return nil
}

// field reads the value of top-level field id.
func (sc *scan) field(p *trackPlan, f *trackForm, id int) error {
	name := trackFields[id].name
	switch trackFields[id].kind {
	case kindString:
		if sc.peek() != '"' {
			sc.violate(name, "not a string")
			return sc.value(1)
		}
		v, err := sc.text()
		if err != nil {
			return err
		}
		r := &p.str[id]
		ok := r.checkBounds(v)
		if r.format == "datetime" && id == fCreatedAt {
			// Checked by parsing it, once: Track keeps the time.
			t, err := parseDatetime(v)
			ok = ok && err == nil
			f.created, f.hasCreated = t, err == nil
		} else if r.format != "" {
			ok = ok && checkFormat(r.format, v)
		}
		if !ok {
			sc.violate(name, "outside the lexicon's rules")
		}
		f.str[id] = v
	case kindInteger:
		if c := sc.peek(); c != '-' && !isDigit(c) {
			sc.violate(name, "not an integer")
			return sc.value(1)
		}
		v, integral, err := sc.number()
		if err != nil {
			return err
		}
		if !integral || !p.integer[id].check(v) {
			sc.violate(name, "not an integer in the lexicon's range")
		}
		f.integer[id] = v
	case kindStringArray:
		if sc.peek() != '[' {
			sc.violate(name, "not an array")
			return sc.value(1)
		}
		return sc.items(name, p.tags, func() error {
			if sc.peek() != '"' {
				sc.violate(name, "an item is not a string")
				return sc.value(2)
			}
			v, err := sc.text()
			if err != nil {
				return err
			}
			if !p.tag.check(v) {
				sc.violate(name, "an item outside the lexicon's rules")
			}
			f.tags = append(f.tags, v)
			return nil
		})
	case kindFeatureArray:
		if sc.peek() != '[' {
			sc.violate(name, "not an array")
			return sc.value(1)
		}
		return sc.items(name, p.features, func() error {
			if sc.peek() != '{' {
				sc.violate(name, "an item is not an object")
				return sc.value(2)
			}
			return sc.feature(p, f)
		})
	}
	return nil
}

// items reads an array of the record (depth 2), item by item, and checks
// its length.
func (sc *scan) items(name string, r arrRule, item func() error) error {
	sc.i++
	sc.ws()
	n := 0
	if sc.peek() == ']' {
		sc.i++
	} else {
		for {
			if err := item(); err != nil {
				return err
			}
			n++
			done, err := sc.next(']')
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	if !r.check(n) {
		sc.violate(name, "length outside the lexicon's bounds")
	}
	return nil
}

// feature reads a featured artist (an object at depth 3).
func (sc *scan) feature(p *trackPlan, f *trackForm) error {
	const depth = 3
	sc.i++
	sc.ws()
	var ft relay.Feature
	var seen uint32
	base := sc.nkeys
	n, blobKeys := 0, 0
	if sc.peek() == '}' {
		sc.i++
	} else {
		for {
			k, err := sc.key()
			if err != nil {
				return err
			}
			n++
			id := -1
			switch k {
			case "did":
				id = ffDID
			case "handle":
				id = ffHandle
			case "displayName":
				id = ffDisplayName
			}
			if id >= 0 {
				if seen&(1<<id) != 0 {
					return errFallback
				}
				seen |= 1 << id
				if sc.peek() != '"' {
					sc.violate("features", featureFields[id]+" is not a string")
					err = sc.value(depth)
				} else {
					var v string
					if v, err = sc.text(); err == nil {
						if !p.feature[id].check(v) {
							sc.violate("features", featureFields[id]+" outside the lexicon's rules")
						}
						switch id {
						case ffDID:
							ft.DID = v
						case ffHandle:
							ft.Handle = v
						case ffDisplayName:
							ft.DisplayName = v
						}
					}
				}
			} else if err = sc.unknownKey(k, base); err == nil {
				var blob bool
				if blob, err = sc.special(k, depth); blob {
					blobKeys++
				}
			}
			if err != nil {
				return err
			}
			done, err := sc.next('}')
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	sc.nkeys = base
	if n == 2 && blobKeys == 2 {
		return errFallback
	}
	if p.featureRequired&^seen != 0 {
		sc.violate("features", "a required field is missing")
	}
	f.features = append(f.features, ft)
	return nil
}
