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
package lexicons

import (
	"embed"
	"fmt"
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
