package demo

import (
	"image/color"
	"strings"

	"github.com/relaymusic/relay/validate"
)

// artist is one account of the catalogue. Handle is the first label; the
// PDS's handle domain is added when the account is made.
type artist struct {
	Handle string
	Name   string
	Genre  string
	// From and To colour its singles' cover; Shape picks the figure on it.
	From, To color.RGBA
	Shape    int
}

// album groups tracks under one cover.
type album struct {
	Name     string
	From, To color.RGBA
	Shape    int
}

// track is one sample track. Feat names the featured artist's handle
// label, if any. Chord is what its audio plays (Hz).
type track struct {
	Artist string // handle label
	Album  string // "" for a single
	Title  string
	Tags   []string
	Feat   string
	Chord  []float64
	// DaysAgo spreads createdAt over the past weeks, so the feed has an
	// order to show (sortAt is min(createdAt, indexedAt)).
	DaysAgo int
}

// Notes of the chords, equal temperament around A4 = 440 Hz.
const (
	c4  = 261.63
	d4  = 293.66
	e4  = 329.63
	f4  = 349.23
	g4  = 392.00
	a4  = 440.00
	b4  = 493.88
	c5  = 523.25
	eb4 = 311.13
	ab4 = 415.30
	bb4 = 466.16
	fs4 = 369.99
)

var artists = []artist{
	{Handle: "aurora-lane", Name: "Aurora Lane", Genre: "ambient", From: rgb(0x1d, 0x2b, 0x64), To: rgb(0xf8, 0xcd, 0xda), Shape: 0},
	{Handle: "mika-solberg", Name: "Mika Solberg", Genre: "jazz", From: rgb(0x3a, 0x1c, 0x0c), To: rgb(0xe0, 0xa8, 0x5c), Shape: 1},
	{Handle: "jose-almeida", Name: "José Almeida", Genre: "bossa nova", From: rgb(0x0b, 0x6e, 0x4f), To: rgb(0xf2, 0xe2, 0x6b), Shape: 2},
	{Handle: "zoe-kwan", Name: "Zoë Kwan", Genre: "electronic", From: rgb(0x2d, 0x00, 0x4f), To: rgb(0x00, 0xd4, 0xc8), Shape: 1},
	{Handle: "night-ferns", Name: "The Night Ferns", Genre: "indie", From: rgb(0x10, 0x20, 0x10), To: rgb(0x7f, 0xb0, 0x69), Shape: 0},
}

// hostileHandle is the account that writes the hostile records.
const hostileHandle = "prankster"

var albums = map[string]album{
	"Fjällvind":         {Name: "Fjällvind", From: rgb(0x0f, 0x20, 0x27), To: rgb(0x9b, 0xd4, 0xe4), Shape: 0},
	"Café Noir":         {Name: "Café Noir", From: rgb(0x1a, 0x0f, 0x0a), To: rgb(0xc8, 0x7f, 0x3a), Shape: 1},
	"São Paulo à Noite": {Name: "São Paulo à Noite", From: rgb(0x40, 0x0a, 0x3c), To: rgb(0xff, 0x9a, 0x3c), Shape: 2},
}

var tracks = []track{
	{Artist: "aurora-lane", Album: "Fjällvind", Title: "Björk och Tall", Tags: []string{"forest", "calm"}, Chord: []float64{c4, e4, g4}, DaysAgo: 30},
	{Artist: "aurora-lane", Album: "Fjällvind", Title: "Nordljus över Sjön", Tags: []string{"northern lights"}, Chord: []float64{a4 / 2, c4, e4}, DaysAgo: 29},
	{Artist: "aurora-lane", Album: "Fjällvind", Title: "Fjällvind", Tags: []string{"wind", "calm"}, Chord: []float64{d4, fs4, a4}, DaysAgo: 28},
	{Artist: "aurora-lane", Album: "Fjällvind", Title: "Iskristall", Tags: []string{"winter"}, Chord: []float64{e4, g4, b4}, DaysAgo: 27},
	{Artist: "aurora-lane", Album: "Fjällvind", Title: "Ångström", Tags: []string{"light"}, Feat: "mika-solberg", Chord: []float64{f4, a4, c5}, DaysAgo: 26},

	{Artist: "mika-solberg", Album: "Café Noir", Title: "Café Noir", Tags: []string{"late night", "piano"}, Chord: []float64{d4, f4, a4, c5}, DaysAgo: 21},
	{Artist: "mika-solberg", Album: "Café Noir", Title: "Crème Brûlée", Tags: []string{"sweet"}, Chord: []float64{f4, a4, c5, e4 * 2}, DaysAgo: 20},
	{Artist: "mika-solberg", Album: "Café Noir", Title: "Déjà Vu", Tags: []string{"late night"}, Chord: []float64{g4, bb4, d4 * 2}, DaysAgo: 19},
	{Artist: "mika-solberg", Album: "Café Noir", Title: "Señor Azúcar", Tags: []string{"latin", "piano"}, Chord: []float64{c4, eb4, g4, bb4}, DaysAgo: 18},
	{Artist: "mika-solberg", Album: "Café Noir", Title: "Über die Brücke", Tags: []string{"duet"}, Feat: "zoe-kwan", Chord: []float64{eb4, g4, bb4}, DaysAgo: 17},

	{Artist: "jose-almeida", Album: "São Paulo à Noite", Title: "São Paulo à Noite", Tags: []string{"city", "guitar"}, Chord: []float64{a4 / 2, c4, e4, g4}, DaysAgo: 14},
	{Artist: "jose-almeida", Album: "São Paulo à Noite", Title: "Coração Leve", Tags: []string{"guitar"}, Chord: []float64{f4, a4, d4 * 2}, DaysAgo: 13},
	{Artist: "jose-almeida", Album: "São Paulo à Noite", Title: "Maçã do Amor", Tags: []string{"love"}, Chord: []float64{g4, b4, d4 * 2, f4 * 2}, DaysAgo: 12},
	{Artist: "jose-almeida", Album: "São Paulo à Noite", Title: "Niño del Mar", Tags: []string{"sea", "guitar"}, Feat: "aurora-lane", Chord: []float64{e4, ab4, b4}, DaysAgo: 11},
	{Artist: "jose-almeida", Album: "São Paulo à Noite", Title: "Açaí Sunrise", Tags: []string{"morning"}, Chord: []float64{c4, e4, g4, b4}, DaysAgo: 10},

	{Artist: "zoe-kwan", Title: "Łódź at Dawn", Tags: []string{"synth", "morning"}, Chord: []float64{a4, c5, e4 * 2}, DaysAgo: 7},
	{Artist: "zoe-kwan", Title: "Zoë's Lullaby", Tags: []string{"synth", "calm"}, Chord: []float64{bb4 / 2, d4, f4}, DaysAgo: 5},
	{Artist: "zoe-kwan", Title: "Piñata Pop", Tags: []string{"party"}, Feat: "night-ferns", Chord: []float64{g4, b4, d4 * 2}, DaysAgo: 4},
	{Artist: "zoe-kwan", Title: "Naïve Machines", Tags: []string{"synth"}, Chord: []float64{d4, fs4, a4, c5}, DaysAgo: 3},

	{Artist: "night-ferns", Title: "Smörgåsbord", Tags: []string{"guitar", "party"}, Chord: []float64{e4, g4, b4, d4 * 2}, DaysAgo: 2},
	{Artist: "night-ferns", Title: "Dvořák in the Rain", Tags: []string{"rain"}, Chord: []float64{c4, f4, a4}, DaysAgo: 1},
}

// Hostile is one record written to show that hostile input is rendered
// harmlessly or refused. Reason is the validate reason it is rejected
// with, or "" for one that is indexed and must come back as plain data.
type Hostile struct {
	What   string
	Title  string
	Reason string
	URI    string // set once written
}

// hostile is what the hostile account writes, each built by a function of
// the good audio and art URLs so that only the named field is hostile.
var hostile = []struct {
	what   string
	title  string
	reason string
	edit   func(rec map[string]any)
}{
	{what: "a title that is an html tag", title: `<img src=x onerror=alert(1)>`},
	{what: "a title that closes an attribute and opens a script", title: `"><script>alert(1)</script>`},
	{what: "a javascript: imageUrl (indexed without its artwork)", title: "Pretty Picture",
		edit: func(rec map[string]any) { rec["imageUrl"] = "javascript:alert(1)" }},
	{what: "a plain-http audioUrl on a foreign host", title: "Foreign Stream", reason: validate.ReasonInsecureURL,
		edit: func(rec map[string]any) { rec["audioUrl"] = "http://evil.example/track.mp3" }},
	{what: "a record over validate.MaxRecordBytes", title: "Too Big To Index", reason: validate.ReasonTooLarge,
		// Over relay's cap, under jetstream's message cap (the indexer
		// sets it 16 KiB above), so relay sees it and counts it.
		edit: func(rec map[string]any) {
			rec["description"] = "big"
			rec["padding"] = strings.Repeat("x", validate.MaxRecordBytes+2<<10)
		}},
}

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{R: r, G: g, B: b, A: 255} }
