package lexicons

import (
	"strings"
	"testing"
)

func TestCatalogLoads(t *testing.T) {
	cat, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		"app.relay.track",
		"app.relay.feed.defs#trackView",
		"app.relay.feed.getDiscoveryFeed",
		"app.relay.feed.searchTracks",
		"app.relay.feed.getTracks",
		"app.relay.feed.getArtistFeed",
		"app.relay.actor.defs#artistView",
		"app.relay.actor.getArtist",
	} {
		if _, err := cat.Resolve(id); err != nil {
			t.Errorf("resolving %s: %v", id, err)
		}
	}
}

// firstVersion is a record exactly as relay's first version wrote it.
const firstVersion = `{"$type":"app.relay.track","title":"Hoppípolla","artist":"Sigur Rós","audioUrl":"https://audio.relay.example/3f9a.mp3","fileType":"mp3","duration":240,"createdAt":"2025-10-02T18:04:11.372Z"`

func TestValidateTrack(t *testing.T) {
	long := strings.Repeat("é", 281) // 281 graphemes, 562 bytes
	cases := []struct {
		name   string
		record string
		ok     bool
	}{
		{"first version", firstVersion + `}`, true},
		{"first version with album", firstVersion + `,"album":"Takk..."}`, true},
		{"with features", firstVersion + `,"features":[{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","handle":"jonsi.example.com","displayName":"Jónsi"}]}`, true},
		{"with imageUrl", firstVersion + `,"imageUrl":"https://img.relay.example/takk.jpg"}`, true},
		{"with all of them", firstVersion + `,"album":"Takk...","features":[{"did":"did:web:jonsi.example.com"}],"imageUrl":"https://img.relay.example/takk.jpg"}`, true},
		{"m4a is a known value, not an enum", strings.Replace(firstVersion, `"mp3"`, `"m4a"`, 1) + `}`, true},
		{"an unknown file type still passes", strings.Replace(firstVersion, `"mp3"`, `"opus"`, 1) + `}`, true},
		{"our additions", firstVersion + `,"genre":"post-rock","tags":["icelandic","ambient"],"audioSha256":"` + strings.Repeat("ab", 32) + `","audioSize":5120000,"audioMimeType":"audio/mpeg","description":"live take"}`, true},
		{"280 characters of title", strings.Replace(firstVersion, "Hoppípolla", strings.Repeat("é", 280), 1) + `}`, true},
		{"missing fileType", strings.Replace(firstVersion, `"fileType":"mp3",`, "", 1) + `}`, false},
		{"281-character title", strings.Replace(firstVersion, "Hoppípolla", long, 1) + `}`, false},
		{"empty title", strings.Replace(firstVersion, "Hoppípolla", "", 1) + `}`, false},
		{"missing artist", strings.Replace(firstVersion, `"artist":"Sigur Rós",`, "", 1) + `}`, false},
		{"missing audioUrl", strings.Replace(firstVersion, `"audioUrl":"https://audio.relay.example/3f9a.mp3",`, "", 1) + `}`, false},
		{"missing createdAt", strings.Replace(firstVersion, `,"createdAt":"2025-10-02T18:04:11.372Z"`, "", 1) + `}`, false},
		{"createdAt not a datetime", strings.Replace(firstVersion, "2025-10-02T18:04:11.372Z", "yesterday", 1) + `}`, false},
		{"duration in milliseconds as a float", strings.Replace(firstVersion, `240`, `240.5`, 1) + `}`, false},
		{"negative duration", strings.Replace(firstVersion, `240`, `-1`, 1) + `}`, false},
		{"duration as a string", strings.Replace(firstVersion, `240`, `"4:00"`, 1) + `}`, false},
		{"eleven tags", firstVersion + `,"tags":["a","b","c","d","e","f","g","h","i","j","k"]}`, false},
		{"feature without did", firstVersion + `,"features":[{"handle":"jonsi.example.com"}]}`, false},
		{"wrong $type", strings.Replace(firstVersion, "app.relay.track", "fm.plyr.track", 1) + `}`, false},
		{"not JSON", `{"$type":"app.relay.track",`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ValidateRecord("app.relay.track", []byte(tc.record))
			if tc.ok && err != nil {
				t.Fatalf("want valid, got %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("want an error, got none")
			}
		})
	}
}
