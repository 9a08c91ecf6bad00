package relay

import _ "embed"

// Schema is the SQLite schema (schema.sql), applied by the store at open.
//
//go:embed schema.sql
var Schema string
