// Package corpus generates a deterministic synthetic catalogue of tracks for
// benchmarks: titles, artists and albums in several scripts (Latin with
// diacritics, plain English, Cyrillic, Japanese, Greek), Zipf-distributed
// artists and title words, genres and tags. The same seed and size always
// give the same tracks, byte for byte.
//
// Build loads a catalogue into a real relay data dir, opened by datadir
// (SQLite through sqlite.Store.ApplyBatch, then the Bleve index rebuilt as
// relay reindex does) and caches it by seed and size.
package corpus

import (
	"github.com/relaymusic/relay/search"

	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Script is the writing system of an artist's names and titles.
type Script int

const (
	English Script = iota
	LatinDiacritics
	Cyrillic
	Japanese
	Greek
	numScripts
)

func (s Script) String() string {
	return [...]string{"english", "latin-diacritics", "cyrillic", "japanese", "greek"}[s]
}

// scriptShare is how often an artist writes in each script (out of 100).
var scriptShare = [numScripts]int{English: 40, LatinDiacritics: 25, Cyrillic: 15, Japanese: 10, Greek: 10}

// syllables per script: words are 2 to 4 of them, so each script has a
// vocabulary of tens of thousands of distinct words.
var syllables = [numScripts][]string{
	English:         split("ba be bi bo bu da de di do du fa fe fi fo ga ge go ka ke ki ko la le li lo lu ma me mi mo mu na ne ni no nu pa pe po ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo wa we wi ya yo za zo ran ter son ley ton mar der lin ver"),
	LatinDiacritics: split("bé bà cò dé fè gí hó jú ká lé mó nú ñá ñe pí ró sü tö vá zé çã ço ão ês ír ól ús ør øy åk æl łó śn źd żą ęk ąb őr űs ër ïn ön äl ôt ûr îs"),
	Cyrillic:        split("ба бе ви во га де до жа за зи ка ко ла ле ли ло лю ма ме ми мо на не ни но по ра ре ри ро ру са се си со та те ти то ту фа ха це че ша ще юр яс ёл ей ай ой"),
	Japanese:        split("あ い う え お か き く け こ さ し す せ そ た ち つ て と な に ぬ ね の は ひ ふ へ ほ ま み む め も ら り る れ ろ カ キ ク ケ コ サ シ ス セ ソ タ チ ツ テ ト"),
	Greek:           split("ά έ ή ί ό ύ ώ βα γε δη ζω θά κά λέ μή νί ξό πύ ρώ σα τα φί χό ψυ αγ ελ ιμ ον υπ ερ ασ ορ"),
}

// Real words mixed into titles, the most frequent first.
var commonWords = [numScripts][]string{
	English:         split("love night dream heart fire light rain summer blue song home river gold star city moon wild ghost dance road"),
	LatinDiacritics: split("corazón canción mañana noël été café über schön fjäril søndag łódź coração árvore sueño niño naïve crème jalapeño göteborg žalm"),
	Cyrillic:        split("ночь звезда любовь город река небо весна песня ветер солнце дорога мечта зима море сердце"),
	Japanese:        split("夜 東京 さくら 夢 ひかり 雨 空 月 恋 花 海 風 心 星"),
	Greek:           split("νύχτα θάλασσα αγάπη ήλιος καρδιά όνειρο φως βροχή καλοκαίρι τραγούδι"),
}

var genres = split("pop rock hip-hop electronic house techno jazz classical folk metal r&b soul ambient indie punk reggae blues country lo-fi drum-and-bass")

var tagWords = split("chill upbeat live acoustic remix cover instrumental demo vocal night-drive study workout lofi sad happy experimental ballad dance summer rainy")

func split(s string) []string { return strings.Fields(s) }

// Spec is a catalogue: Tracks tracks from Seed. Artists defaults to
// Tracks/20 (at least 1).
type Spec struct {
	Seed    uint64
	Tracks  int
	Artists int
}

func (s Spec) artists() int {
	if s.Artists > 0 {
		return s.Artists
	}
	return max(1, s.Tracks/20)
}

// Key names the cached build of this spec.
func (s Spec) Key() string {
	// The index's mapping version is in the key: a corpus indexed under
	// other analysis rules is built again.
	return fmt.Sprintf("v1-%s-seed%d-tracks%d-artists%d", search.MappingVersion, s.Seed, s.Tracks, s.artists())
}

// Artist is one generated account.
type Artist struct {
	DID    syntax.DID
	Name   string
	Script Script
	Albums []string
}

// Generator yields the tracks of a Spec in order.
type Generator struct {
	spec    Spec
	rng     *rand.Rand
	artists []Artist
	pick    *rand.Zipf // artist index, Zipf: a few artists publish most tracks
	words   [numScripts]*rand.Zipf
	vocab   [numScripts][]string
	start   time.Time
	i       int
}

// vocabSize is the number of distinct generated words per script.
const vocabSize = 20000

// New returns a generator for spec.
func New(spec Spec) *Generator {
	g := &Generator{
		spec:  spec,
		rng:   rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x5851f42d4c957f2d)),
		start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for s := range numScripts {
		seen := map[string]bool{}
		vocab := append([]string(nil), commonWords[s]...)
		for _, w := range vocab {
			seen[w] = true
		}
		for len(vocab) < vocabSize {
			w := g.word(s)
			if !seen[w] {
				seen[w] = true
				vocab = append(vocab, w)
			}
		}
		g.vocab[s] = vocab
		g.words[s] = rand.NewZipf(g.rng, 1.07, 2, uint64(len(vocab)-1))
	}
	n := spec.artists()
	g.artists = make([]Artist, n)
	for i := range g.artists {
		s := g.script()
		a := Artist{
			DID:    syntax.DID(fmt.Sprintf("did:plc:bench%019d", i)),
			Script: s,
			Name:   g.name(s, 1+g.rng.IntN(2)),
		}
		for range 1 + g.rng.IntN(4) {
			a.Albums = append(a.Albums, g.title(s, 1+g.rng.IntN(3)))
		}
		g.artists[i] = a
	}
	g.pick = rand.NewZipf(g.rng, 1.1, 8, uint64(n-1))
	return g
}

func (g *Generator) script() Script {
	r := g.rng.IntN(100)
	for s := range numScripts {
		if r < scriptShare[s] {
			return s
		}
		r -= scriptShare[s]
	}
	return English
}

// word is a fresh pseudo-word of 2 to 4 syllables.
func (g *Generator) word(s Script) string {
	var b strings.Builder
	for range 2 + g.rng.IntN(3) {
		b.WriteString(syllables[s][g.rng.IntN(len(syllables[s]))])
	}
	return b.String()
}

// name is a proper name: rare words, capitalised.
func (g *Generator) name(s Script, words int) string {
	parts := make([]string, words)
	for i := range parts {
		parts[i] = capitalise(g.word(s))
	}
	return g.join(s, parts)
}

// title is words drawn from the script's Zipf vocabulary.
func (g *Generator) title(s Script, words int) string {
	parts := make([]string, words)
	for i := range parts {
		parts[i] = g.vocab[s][g.words[s].Uint64()]
		if i == 0 {
			parts[i] = capitalise(parts[i])
		}
	}
	return g.join(s, parts)
}

// join separates words with spaces, except in Japanese where titles run on
// (as they do in practice) about half of the time.
func (g *Generator) join(s Script, parts []string) string {
	if s == Japanese && g.rng.IntN(2) == 0 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts, " ")
}

func capitalise(w string) string {
	r, n := utf8.DecodeRuneInString(w)
	return strings.ToUpper(string(r)) + w[n:]
}

// Artists are the generated accounts.
func (g *Generator) Artists() []Artist { return g.artists }

// Next returns the next track, or nil after Spec.Tracks.
func (g *Generator) Next() *relay.Track {
	if g.i >= g.spec.Tracks {
		return nil
	}
	i := g.i
	g.i++
	a := &g.artists[g.pick.Uint64()]
	// Spread over two years, in order, so the feed has a realistic shape.
	created := g.start.Add(time.Duration(float64(2*365*24*time.Hour) * float64(i) / float64(g.spec.Tracks)))
	created = created.Add(time.Duration(g.rng.IntN(1000)) * time.Millisecond)
	t := &relay.Track{
		DID:        a.DID,
		Collection: relay.TrackCollection,
		RKey:       syntax.RecordKey(syntax.NewTID(created.UnixMicro(), uint(i%1024)).String()),
		Rev:        syntax.NewTID(created.UnixMicro(), 0).String(),
		CID:        "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq",
		Title:      g.title(a.Script, 1+g.rng.IntN(4)),
		Artist:     a.Name,
		Genre:      genres[g.rng.IntN(len(genres))],
		FileType:   "mp3",
		CreatedAt:  created,
		IndexedAt:  created.Add(time.Duration(1+g.rng.IntN(30)) * time.Second),
	}
	if g.rng.IntN(3) > 0 {
		t.Album = a.Albums[g.rng.IntN(len(a.Albums))]
	}
	for range g.rng.IntN(4) {
		if tag := tagWords[g.rng.IntN(len(tagWords))]; !containsStr(t.Tags, tag) {
			t.Tags = append(t.Tags, tag)
		}
	}
	d := int64(60 + g.rng.IntN(480))
	t.Duration = &d
	t.AudioURL = "https://audio.relay.example/" + a.DID.String() + "/" + t.RKey.String() + ".mp3"
	t.SortAt = relay.SortTime(t.CreatedAt, t.IndexedAt)
	rec := map[string]any{
		"$type": relay.TrackCollection, "title": t.Title, "artist": t.Artist, "genre": t.Genre,
		"audioUrl": t.AudioURL, "fileType": t.FileType, "duration": d,
		"createdAt": t.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if t.Album != "" {
		rec["album"] = t.Album
	}
	if len(t.Tags) > 0 {
		rec["tags"] = t.Tags
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		panic(fmt.Sprintf("corpus: encoding record: %v", err)) // plain maps of strings and ints
	}
	t.Record = raw
	return t
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ScriptOf returns the script of the artist who published t.
func (g *Generator) ScriptOf(t *relay.Track) Script {
	var i int
	if _, err := fmt.Sscanf(strings.TrimPrefix(t.DID.String(), "did:plc:bench"), "%d", &i); err != nil || i < 0 || i >= len(g.artists) {
		return English
	}
	return g.artists[i].Script
}
