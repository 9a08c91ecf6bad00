package corpus

import (
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Kind is a class of search query.
type Kind string

const (
	// Exact: the target's title and its artist's first name, as written.
	Exact Kind = "exact"
	// Prefix: the same with the artist's name cut to its first runes, as
	// typed so far (search as you type).
	Prefix Kind = "prefix"
	// Typo: the exact query with one letter of its longest word changed.
	Typo Kind = "typo"
	// Diacritics: the exact query typed without its accents.
	Diacritics Kind = "diacritics"
)

// Kinds are all query kinds, in report order.
var Kinds = []Kind{Exact, Prefix, Typo, Diacritics}

// Query is a search for a known track.
type Query struct {
	Kind Kind
	Text string
	// Words are Text's words; PrefixLast says the last one is incomplete.
	Words      []string
	PrefixLast bool
	Target     syntax.ATURI
}

// Queries draws up to perKind queries of each kind from spec's tracks,
// deterministically (seed). A track that cannot make a query of a kind (no
// long word for a typo, no accent to drop) is passed over for that kind.
func Queries(spec Spec, seed uint64, perKind int) []Query {
	rng := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	// Pick targets spread over the whole catalogue, by index.
	want := map[int]bool{}
	for len(want) < min(spec.Tracks, perKind*12) {
		want[rng.IntN(spec.Tracks)] = true
	}
	g := New(spec)
	var targets []*relay.Track
	for i, t := 0, g.Next(); t != nil; i, t = i+1, g.Next() {
		if want[i] {
			targets = append(targets, t)
		}
	}
	rng.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })

	count := map[Kind]int{}
	var out []Query
	add := func(q Query) {
		if count[q.Kind] < perKind {
			count[q.Kind]++
			out = append(out, q)
		}
	}
	for _, t := range targets {
		artist := strings.Fields(t.Artist)[0]
		words := append(strings.Fields(t.Title), artist)
		exact := Query{Kind: Exact, Words: words, Target: t.URI()}
		add(exact)

		if n := utf8.RuneCountInString(artist); n >= 3 {
			cut := min(n-1, 2+rng.IntN(3))
			p := append(append([]string(nil), words[:len(words)-1]...), string([]rune(artist)[:cut]))
			add(Query{Kind: Prefix, Words: p, PrefixLast: true, Target: t.URI()})
		}

		// The typo goes into the longest word of at least 5 runes, never
		// its first letter (typo tolerance needs it, as most engines do).
		long := -1
		for i, w := range words {
			if n := utf8.RuneCountInString(w); n >= 5 && (long < 0 || n > utf8.RuneCountInString(words[long])) {
				long = i
			}
		}
		if long >= 0 {
			typo := append([]string(nil), words...)
			typo[long] = misspell(rng, typo[long])
			add(Query{Kind: Typo, Words: typo, Target: t.URI()})
		}

		plain := make([]string, len(words))
		changed := false
		for i, w := range words {
			plain[i] = StripDiacritics(w)
			changed = changed || plain[i] != w
		}
		if changed {
			add(Query{Kind: Diacritics, Words: plain, Target: t.URI()})
		}
	}
	for i := range out {
		out[i].Text = strings.Join(out[i].Words, " ")
	}
	return out
}

// misspell changes one rune after the first: a swap with its neighbour, a
// deletion, or a doubled letter.
func misspell(rng *rand.Rand, w string) string {
	r := []rune(w)
	i := 1 + rng.IntN(len(r)-2)
	switch rng.IntN(3) {
	case 0:
		r[i], r[i+1] = r[i+1], r[i]
		if r[i] == r[i+1] {
			r = append(r[:i], r[i+1:]...)
		}
	case 1:
		r = append(r[:i], r[i+1:]...)
	default:
		r = append(r[:i+1], r[i:]...)
	}
	return string(r)
}

// fold maps accented letters of the corpus to their base letter.
var fold = map[rune]string{
	'á': "a", 'à': "a", 'â': "a", 'ä': "a", 'ã': "a", 'å': "a", 'ą': "a", 'æ': "ae",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'ę': "e",
	'í': "i", 'ì': "i", 'î': "i", 'ï': "i",
	'ó': "o", 'ò': "o", 'ô': "o", 'ö': "o", 'õ': "o", 'ő': "o", 'ø': "o",
	'ú': "u", 'ù': "u", 'û': "u", 'ü': "u", 'ű': "u",
	'ñ': "n", 'ç': "c", 'ł': "l", 'ś': "s", 'ź': "z", 'ż': "z", 'ž': "z",
	'ά': "α", 'έ': "ε", 'ή': "η", 'ί': "ι", 'ό': "ο", 'ύ': "υ", 'ώ': "ω",
	'ё': "е", 'й': "и",
}

// StripDiacritics removes the accents a user may not type (Latin, Greek
// tonos, Cyrillic ё and й), keeping case.
func StripDiacritics(w string) string {
	var b strings.Builder
	for _, r := range w {
		lr := unicode.ToLower(r)
		if f, ok := fold[lr]; ok {
			if lr != r {
				f = strings.ToUpper(f)
			}
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
