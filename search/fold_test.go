package search

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestFoldTerm(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ουρανός", "ουρανος"}, // Greek tonos
		{"ΐ", "ι"},             // dialytika and tonos
		{"sigur", "sigur"},     // nothing to fold
		{"が", "が"},             // Japanese dakuten changes the letter: kept
		{"हिंदी", "हिंदी"},     // Devanagari signs: kept
		{"йога", "йога"},       // Cyrillic й is its own letter: kept
		{"café", "cafe"},       // Latin that reached the filter unfolded
	} {
		got, _ := foldTerm([]byte(tc.in))
		if string(got) != tc.want {
			t.Errorf("foldTerm(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestGreekWithoutAccents: Greek is found typed without its accents, and
// with them; the prefix path folds the same way.
func TestGreekWithoutAccents(t *testing.T) {
	ix, _ := openTemp(t)
	now := time.Now()
	if err := ix.Apply(context.Background(), changes(1,
		track("ouranos", "Μίκης Θεοδωράκης", "Μπλε Ουρανός", "Ζορμπάς", "λαϊκό", nil, now),
		track("kaneis", "Χάρις Αλεξίου", "Κανείς εδώ δεν χορεύει", "", "", nil, now),
	)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ουρανος", "Ουρανός", "μπλε ουρ", "θεοδωρακης", "ΜΙΚΗΣ"} {
		got, _ := searchKeys(t, ix, Query{Text: q})
		if !slices.Equal(got, []string{"ouranos"}) {
			t.Errorf("%q found %q, want [ouranos]", q, got)
		}
	}
}

// TestOpenRefusesOtherMapping: an index built under other analysis rules is
// refused with ErrMappingChanged (serve then rebuilds it) rather than
// searched with the wrong rules.
func TestOpenRefusesOtherMapping(t *testing.T) {
	dir := t.TempDir() + "/index"
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.bi.SetInternal(keyMapping, []byte("relay-search-0")); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrMappingChanged) {
		t.Fatalf("Open = %v, want ErrMappingChanged", err)
	}
}
