package validate

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bluesky-social/indigo/atproto/lexicon"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/rivo/uniseg"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
)

// The fast path's rules, read from the embedded lexicon (lexicons/app/relay/
// track.json) once: the fields and their kinds are the typed form the fast
// path decodes into, but every bound, format and required field comes from
// the lexicon as written, so an edit there cannot leave the two validators
// apart. A lexicon the plan cannot express (a new field, another type, an
// enum on an array...) disables the fast path: every record then goes to
// indigo's validator, and TestFastPlan fails.

// fieldKind is what the typed form holds for a field.
type fieldKind uint8

const (
	kindString fieldKind = iota
	kindInteger
	kindStringArray  // tags
	kindFeatureArray // features: objects of strings, by ref
)

// Top-level fields of app.relay.track, by the index the typed form keeps
// them at.
const (
	fTitle = iota
	fArtist
	fAlbum
	fAudioURL
	fFileType
	fImageURL
	fGenre
	fDescription
	fAudioSha256
	fAudioMimeType
	fCreatedAt
	fDuration
	fAudioSize
	fTags
	fFeatures
	nFields
)

var trackFields = [nFields]struct {
	name string
	kind fieldKind
}{
	fTitle:         {"title", kindString},
	fArtist:        {"artist", kindString},
	fAlbum:         {"album", kindString},
	fAudioURL:      {"audioUrl", kindString},
	fFileType:      {"fileType", kindString},
	fImageURL:      {"imageUrl", kindString},
	fGenre:         {"genre", kindString},
	fDescription:   {"description", kindString},
	fAudioSha256:   {"audioSha256", kindString},
	fAudioMimeType: {"audioMimeType", kindString},
	fCreatedAt:     {"createdAt", kindString},
	fDuration:      {"duration", kindInteger},
	fAudioSize:     {"audioSize", kindInteger},
	fTags:          {"tags", kindStringArray},
	fFeatures:      {"features", kindFeatureArray},
}

// Fields of a featured artist.
const (
	ffDID = iota
	ffHandle
	ffDisplayName
	nFeatureFields
)

var featureFields = [nFeatureFields]string{ffDID: "did", ffHandle: "handle", ffDisplayName: "displayName"}

// strRule is a lexicon string schema: what indigo's SchemaString.Validate
// checks, in its order. Bounds are -1 when the lexicon sets none.
type strRule struct {
	constant     *string
	minLen       int
	maxLen       int
	enum         []string
	minGraphemes int
	maxGraphemes int
	format       string
}

// check reports whether v passes the rule.
func (r *strRule) check(v string) bool {
	return r.checkBounds(v) && (r.format == "" || checkFormat(r.format, v))
}

// checkBounds is check but for the format.
func (r *strRule) checkBounds(v string) bool {
	if r.constant != nil && v != *r.constant {
		return false
	}
	if (r.minLen >= 0 && len(v) < r.minLen) || (r.maxLen >= 0 && len(v) > r.maxLen) {
		return false
	}
	if len(r.enum) != 0 && !slices.Contains(r.enum, v) {
		return false
	}
	return (r.minGraphemes < 0 && r.maxGraphemes < 0) || r.graphemesOK(v)
}

// graphemesOK checks the grapheme bounds, counting only when the length in
// bytes does not settle them: a grapheme cluster is at least one byte, and
// a non-empty string holds at least one, so a 20-byte title is within 1 to
// 280 without segmenting it (segmenting was a tenth of indigo's cost per
// record).
func (r *strRule) graphemesOK(v string) bool {
	lo, hi := min(len(v), 1), len(v)
	if (r.minGraphemes < 0 || lo >= r.minGraphemes) && (r.maxGraphemes < 0 || hi <= r.maxGraphemes) {
		return true
	}
	n := uniseg.GraphemeClusterCount(v)
	return (r.minGraphemes < 0 || n >= r.minGraphemes) && (r.maxGraphemes < 0 || n <= r.maxGraphemes)
}

// checkFormat is indigo's format check, by the same parsers.
func checkFormat(format, v string) bool {
	var err error
	switch format {
	case "at-identifier":
		_, err = syntax.ParseAtIdentifier(v)
	case "at-uri":
		_, err = syntax.ParseATURI(v)
	case "cid":
		_, err = ParseCID(v)
	case "datetime":
		err = checkDatetime(v)
	case "did":
		err = checkDID(v)
	case "handle":
		err = checkHandle(v)
	case "nsid":
		_, err = syntax.ParseNSID(v)
	case "uri":
		err = checkURI(v)
	case "language":
		_, err = syntax.ParseLanguage(v)
	case "tid":
		_, err = ParseTID(v)
	case "record-key":
		_, err = syntax.ParseRecordKey(v)
	}
	return err == nil
}

// intRule is a lexicon integer schema, as SchemaInteger.Validate checks it.
type intRule struct {
	constant, minimum, maximum *int
	enum                       []int
}

func (r *intRule) check(v64 int64) bool {
	v := int(v64)
	if r.constant != nil && v != *r.constant {
		return false
	}
	if (r.minimum != nil && v < *r.minimum) || (r.maximum != nil && v > *r.maximum) {
		return false
	}
	return len(r.enum) == 0 || slices.Contains(r.enum, v)
}

// arrRule is a lexicon array's bounds; -1 when unset.
type arrRule struct{ minLen, maxLen int }

func (r arrRule) check(n int) bool {
	return (r.minLen < 0 || n >= r.minLen) && (r.maxLen < 0 || n <= r.maxLen)
}

// trackPlan is app.relay.track's rules for the typed form.
type trackPlan struct {
	str      [nFields]strRule // for the kindString fields
	integer  [nFields]intRule // for the kindInteger fields
	tags     arrRule
	tag      strRule
	features arrRule
	feature  [nFeatureFields]strRule
	// required and featureRequired are bit sets of field indexes.
	required        uint32
	featureRequired uint32
}

var fieldIndex = func() map[string]int {
	m := make(map[string]int, nFields)
	for i, f := range trackFields {
		m[f.name] = i
	}
	return m
}()

// plan is the compiled plan, nil when the lexicon holds something it
// cannot express (planErr says what).
var plan, planErr = compilePlan()

func compilePlan() (*trackPlan, error) {
	cat, err := lexicons.Catalog()
	if err != nil {
		return nil, err
	}
	def, err := cat.Resolve(relay.TrackCollection)
	if err != nil {
		return nil, err
	}
	rec, ok := def.Def.(lexicon.SchemaRecord)
	if !ok {
		return nil, errors.New("app.relay.track is not a record")
	}
	p := &trackPlan{}
	obj := rec.Record
	if len(obj.Nullable) != 0 {
		return nil, errors.New("nullable fields")
	}
	if len(obj.Properties) != nFields {
		return nil, fmt.Errorf("the lexicon has %d fields, the plan %d", len(obj.Properties), nFields)
	}
	for i, f := range trackFields {
		d, ok := obj.Properties[f.name]
		if !ok {
			return nil, fmt.Errorf("field %s is not in the lexicon", f.name)
		}
		switch f.kind {
		case kindString:
			p.str[i], err = compileString(d)
		case kindInteger:
			p.integer[i], err = compileInteger(d)
		case kindStringArray:
			var items lexicon.SchemaDef
			p.tags, items, err = compileArray(d)
			if err == nil {
				p.tag, err = compileString(items)
			}
		case kindFeatureArray:
			var items lexicon.SchemaDef
			p.features, items, err = compileArray(d)
			if err == nil {
				err = p.compileFeature(cat, items)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.name, err)
		}
	}
	for _, k := range obj.Required {
		i, ok := fieldIndex[k]
		if !ok {
			return nil, fmt.Errorf("required field %s is not in the plan", k)
		}
		p.required |= 1 << i
	}
	return p, nil
}

func (p *trackPlan) compileFeature(cat lexicon.Catalog, items lexicon.SchemaDef) error {
	ref, ok := items.Inner.(lexicon.SchemaRef)
	if !ok || !strings.HasPrefix(ref.Ref, "#") {
		return errors.New("items are not a local ref")
	}
	def, err := cat.Resolve(relay.TrackCollection + ref.Ref)
	if err != nil {
		return err
	}
	obj, ok := def.Def.(lexicon.SchemaObject)
	if !ok {
		return errors.New("items are not objects")
	}
	if len(obj.Nullable) != 0 || len(obj.Properties) != nFeatureFields {
		return errors.New("items are not the featured artist the plan knows")
	}
	for i, name := range featureFields {
		d, ok := obj.Properties[name]
		if !ok {
			return fmt.Errorf("featured artist field %s is not in the lexicon", name)
		}
		if p.feature[i], err = compileString(d); err != nil {
			return fmt.Errorf("featured artist field %s: %w", name, err)
		}
	}
	for _, k := range obj.Required {
		i := slices.Index(featureFields[:], k)
		if i < 0 {
			return fmt.Errorf("required featured artist field %s is not in the plan", k)
		}
		p.featureRequired |= 1 << i
	}
	return nil
}

func orNone(v *int) int {
	if v == nil {
		return -1
	}
	return *v
}

func compileString(d lexicon.SchemaDef) (strRule, error) {
	s, ok := d.Inner.(lexicon.SchemaString)
	if !ok {
		return strRule{}, errors.New("not a string")
	}
	r := strRule{
		constant:     s.Const,
		minLen:       orNone(s.MinLength),
		maxLen:       orNone(s.MaxLength),
		enum:         s.Enum,
		minGraphemes: orNone(s.MinGraphemes),
		maxGraphemes: orNone(s.MaxGraphemes),
	}
	if s.Format != nil {
		r.format = *s.Format
		if !checkFormatKnown(r.format) {
			return strRule{}, fmt.Errorf("unknown format %s", r.format)
		}
	}
	return r, nil
}

func checkFormatKnown(format string) bool {
	switch format {
	case "at-identifier", "at-uri", "cid", "datetime", "did", "handle", "nsid", "uri", "language", "tid", "record-key":
		return true
	}
	return false
}

func compileInteger(d lexicon.SchemaDef) (intRule, error) {
	s, ok := d.Inner.(lexicon.SchemaInteger)
	if !ok {
		return intRule{}, errors.New("not an integer")
	}
	return intRule{constant: s.Const, minimum: s.Minimum, maximum: s.Maximum, enum: s.Enum}, nil
}

func compileArray(d lexicon.SchemaDef) (arrRule, lexicon.SchemaDef, error) {
	s, ok := d.Inner.(lexicon.SchemaArray)
	if !ok {
		return arrRule{}, lexicon.SchemaDef{}, errors.New("not an array")
	}
	return arrRule{minLen: orNone(s.MinLength), maxLen: orNone(s.MaxLength)}, s.Items, nil
}
