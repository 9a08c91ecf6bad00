package appview

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/goccy/go-json"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
	"github.com/relaymusic/relay/validate"
)

const (
	// maxServedRecordBytes caps one view's record as served. A record over
	// it is served with its known lexicon fields only, description
	// excepted; that bounds a page of 100 views (a record of 64 KiB of
	// unknown fields made a 6.5 MB page).
	maxServedRecordBytes = 8 << 10
)

// knownRecordFields are the app.relay.track fields kept when a record is
// too large to serve whole. description (up to 30000 bytes) is left out:
// the view is for lists, and the field is not among the lifted ones.
var knownRecordFields = []string{
	"$type", "title", "artist", "album", "audioUrl", "fileType", "duration",
	"features", "imageUrl", "genre", "tags", "audioSha256", "audioSize",
	"audioMimeType", "createdAt",
}

// urlFields must be https URLs, as the lifted audioUrl and imageUrl are; a
// record field that is not is dropped from the served record.
var urlFields = []string{"audioUrl", "imageUrl"}

// servedRecord is the record of t as a view shows it: decoded from the stored
// bytes and encoded again, never the stored bytes themselves, so what leaves
// is valid JSON in valid UTF-8 with only https URLs. A stored record that
// does not decode within the bounds is replaced by one built from the
// track's lifted fields: the page is served either way.
func servedRecord(t *relay.StoredTrack) json.RawMessage {
	rec, err := decodeRecord(t.Record)
	if err == nil {
		if b, ok := encodeRecord(rec); ok {
			return b
		}
		// Too large whole: the known fields only.
		small := make(map[string]any, len(knownRecordFields))
		for _, k := range knownRecordFields {
			if v, ok := rec[k]; ok {
				small[k] = v
			}
		}
		if b, ok := encodeRecord(small); ok {
			return b
		}
	}
	b, _ := encodeRecord(liftedRecord(&t.Track))
	return b
}

// encodeRecord encodes rec, and reports whether it fits maxServedRecordBytes.
func encodeRecord(rec map[string]any) (json.RawMessage, bool) {
	b, err := json.Marshal(rec)
	if err != nil || len(b) > maxServedRecordBytes {
		return nil, false
	}
	return b, true
}

// decodeRecord decodes a stored record into generic values, bounded in size
// and depth, URL fields checked. Invalid UTF-8 needs no pass of its own:
// goccy's decoder and encoder both replace it with U+FFFD, as encoding/json
// does (TestServedRecord holds them to it).
func decodeRecord(raw []byte) (map[string]any, error) {
	if len(raw) > validate.MaxRecordBytes {
		return nil, fmt.Errorf("record is %d bytes, over %d", len(raw), validate.MaxRecordBytes)
	}
	longNumber, err := scanRecord(raw, lexicons.MaxDepth)
	if err != nil {
		return nil, err
	}
	var rec map[string]any
	if longNumber {
		// A float64 holds integers exactly up to 2^53 (16 digits): past
		// that, numbers are kept as their text. The stream decoder that can
		// do so costs three times Unmarshal, so only such records take it.
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(&rec)
		if err == nil && dec.More() {
			err = errors.New("data after the record")
		}
	} else {
		err = json.Unmarshal(raw, &rec)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding record: %w", err)
	}
	if rec == nil {
		return nil, errors.New("record is not an object")
	}
	for _, k := range urlFields {
		if v, ok := rec[k]; ok {
			if s, _ := v.(string); !validate.IsMediaURL(s) {
				delete(rec, k)
			}
		}
	}
	return rec, nil
}

// scanRecord fails if raw nests arrays and objects deeper than max, and
// reports whether it has a run of more than 15 digits outside strings (a
// number a float64 may not hold exactly). It only looks at brackets and
// digits outside strings: the decoder that follows checks the rest.
func scanRecord(raw []byte, max int) (longNumber bool, err error) {
	depth, digits, inString, escaped := 0, 0, false, false
	for _, c := range raw {
		if !inString && c >= '0' && c <= '9' {
			if digits++; digits > 15 {
				longNumber = true
			}
			continue
		}
		digits = 0
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return false, fmt.Errorf("record nests deeper than %d", max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return longNumber, nil
}

// liftedRecord rebuilds a record from the fields the store lifted out of it.
func liftedRecord(t *relay.Track) map[string]any {
	rec := map[string]any{
		"$type":     t.Collection.String(),
		"title":     t.Title,
		"artist":    t.Artist,
		"audioUrl":  t.AudioURL,
		"fileType":  t.FileType,
		"createdAt": formatTime(t.CreatedAt),
	}
	if t.Album != "" {
		rec["album"] = t.Album
	}
	if t.Duration != nil {
		rec["duration"] = *t.Duration
	}
	if t.ImageURL != "" {
		rec["imageUrl"] = t.ImageURL
	}
	if t.Genre != "" {
		rec["genre"] = t.Genre
	}
	if len(t.Tags) > 0 {
		rec["tags"] = t.Tags
	}
	if len(t.Features) > 0 {
		rec["features"] = t.Features
	}
	return rec
}
