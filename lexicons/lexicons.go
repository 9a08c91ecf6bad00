// Package lexicons embeds relay's lexicon files (app.relay.*) and validates
// records against them with indigo's lexicon package.
//
// The JSON files under app/ are the contract with the network: app.relay.track
// is the record relay's first version defined and wrote, and the app.relay.feed
// queries are what the appview serves. Nothing else in the service restates
// them; validation reads the schemas as written here.
//
// ValidateRecord first checks what the lexicon cannot express but the ATProto
// data model requires (datamodel.go: bounded nesting, strings of valid
// UTF-8), by a scan of the bytes before anything decodes them; then it
// decodes and validates against the schema (lexicons.go).
//
// ValidateQueryOutput checks an answer of an app.relay query against the
// query's output schema, the same way (the appview's lexicon test holds
// every endpoint to it).
package lexicons

import (
	"embed"
	"fmt"
	"strings"
	"sync"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/lexicon"
)

//go:embed app
var files embed.FS

var (
	catalogOnce sync.Once
	catalog     *lexicon.BaseCatalog
	catalogErr  error
)

// Catalog returns the catalog of relay's embedded lexicons, loaded once.
func Catalog() (*lexicon.BaseCatalog, error) {
	catalogOnce.Do(func() {
		c := lexicon.NewBaseCatalog()
		if err := c.LoadEmbedFS(files); err != nil {
			catalogErr = fmt.Errorf("loading embedded lexicons: %w", err)
			return
		}
		catalog = c
	})
	return catalog, catalogErr
}

// ValidateRecord parses raw as an ATProto data-model record (JSON) and checks
// it against the record lexicon nsid, whose name its $type must carry. It
// returns the parsed record, with integers as int64. A record that nests
// too deep or holds invalid UTF-8 fails with an error wrapping ErrTooDeep or
// ErrInvalidUTF8.
func ValidateRecord(nsid string, raw []byte) (map[string]any, error) {
	cat, err := Catalog()
	if err != nil {
		return nil, err
	}
	// Before decoding: Go's decoder recurses, and it turns invalid UTF-8
	// into U+FFFD, so it would validate a record other than the one stored.
	if err := CheckJSON(raw); err != nil {
		return nil, fmt.Errorf("record is not valid ATProto JSON: %w", err)
	}
	rec, err := atdata.UnmarshalJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("record is not valid ATProto JSON: %w", err)
	}
	if err := lexicon.ValidateRecord(cat, rec, nsid, 0); err != nil {
		return nil, err
	}
	return rec, nil
}

// ValidateQueryOutput checks raw, the JSON body of an answer to the query
// nsid, against that query's output schema (an object, or a ref to one).
// indigo validates records only, so the output is checked as a record
// whose schema is the output's, in a catalog that adds that one record
// to relay's.
func ValidateQueryOutput(nsid string, raw []byte) error {
	cat, err := Catalog()
	if err != nil {
		return err
	}
	def, err := cat.Resolve(nsid)
	if err != nil {
		return err
	}
	q, ok := def.Def.(lexicon.SchemaQuery)
	if !ok || q.Output == nil || q.Output.Schema == nil {
		return fmt.Errorf("%s is not a query with an output schema", nsid)
	}
	var obj lexicon.SchemaObject
	switch s := q.Output.Schema.Inner.(type) {
	case lexicon.SchemaObject:
		obj = s
	case lexicon.SchemaRef:
		ref := s.Ref
		if strings.HasPrefix(ref, "#") {
			ref = nsid + ref
		}
		target, err := cat.Resolve(ref)
		if err != nil {
			return fmt.Errorf("resolving the output of %s: %w", nsid, err)
		}
		if obj, ok = target.Def.(lexicon.SchemaObject); !ok {
			return fmt.Errorf("the output of %s is not an object", nsid)
		}
	default:
		return fmt.Errorf("the output of %s is not an object", nsid)
	}
	if err := CheckJSON(raw); err != nil {
		return fmt.Errorf("output is not valid ATProto JSON: %w", err)
	}
	d, err := atdata.UnmarshalJSON(raw)
	if err != nil {
		return fmt.Errorf("output is not valid ATProto JSON: %w", err)
	}
	if _, ok := d["$type"]; ok {
		return fmt.Errorf("output of %s carries a $type", nsid)
	}
	ref := nsid + "#output"
	d["$type"] = ref
	oc := outputCatalog{base: cat, ref: ref, def: lexicon.Schema{ID: ref, Def: lexicon.SchemaRecord{Type: "record", Key: "any", Record: obj}}}
	return lexicon.ValidateRecord(oc, d, ref, 0)
}

// outputCatalog is relay's catalog plus one record: a query's output.
type outputCatalog struct {
	base lexicon.Catalog
	ref  string
	def  lexicon.Schema
}

func (c outputCatalog) Resolve(ref string) (*lexicon.Schema, error) {
	if ref == c.ref {
		return &c.def, nil
	}
	return c.base.Resolve(ref)
}
