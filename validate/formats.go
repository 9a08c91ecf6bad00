package validate

import "github.com/bluesky-social/indigo/atproto/syntax"

// checkDatetime is the lexicon's datetime format (syntax.ParseDatetime).
func checkDatetime(v string) error {
	_, err := syntax.ParseDatetime(v)
	return err
}

// checkURI is the lexicon's uri format (syntax.ParseURI).
func checkURI(v string) error {
	_, err := syntax.ParseURI(v)
	return err
}
