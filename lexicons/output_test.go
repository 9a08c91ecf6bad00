package lexicons

import "testing"

func TestValidateQueryOutput(t *testing.T) {
	const view = `{"uri":"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.relay.track/3lqk7lk5g2223","cid":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm","did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","uploader":{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","trackCount":1},"title":"t","artist":"a","audioUrl":"https://a.example/a.mp3","fileType":"mp3","createdAt":"2025-01-01T00:00:00.000Z","indexedAt":"2025-01-01T00:00:00.000Z","record":{"$type":"app.relay.track"}`
	cases := []struct {
		name, nsid, body string
		ok               bool
	}{
		{"an empty feed", "app.relay.feed.getDiscoveryFeed", `{"feed":[]}`, true},
		{"a feed page", "app.relay.feed.getDiscoveryFeed", `{"feed":[` + view + `}],"cursor":"x"}`, true},
		{"feed missing", "app.relay.feed.getDiscoveryFeed", `{"cursor":"x"}`, false},
		{"a view without uploader", "app.relay.feed.getTracks", `{"tracks":[{"uri":"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.relay.track/3lqk7lk5g2223"}]}`, false},
		{"a bad handle in a featured artist", "app.relay.feed.getArtistFeed", `{"feed":[` + view + `,"featuredArtists":[{"did":"did:plc:x","handle":"not a handle","trackCount":0}]}]}`, false},
		{"featured artists", "app.relay.feed.getArtistFeed", `{"feed":[` + view + `,"featuredArtists":[{"did":"did:plc:x","handle":"x.example","displayName":"X","trackCount":0}]}]}`, true},
		{"an artist through a ref", "app.relay.actor.getArtist", `{"did":"did:plc:x","trackCount":2,"albums":[{"name":"a","trackCount":2,"imageUrl":"https://i.example/a.jpg"}]}`, true},
		{"an artist without albums", "app.relay.actor.getArtist", `{"did":"did:plc:x","trackCount":2}`, false},
		{"an artist with a string count", "app.relay.actor.getArtist", `{"did":"did:plc:x","trackCount":"2","albums":[]}`, false},
		{"a record type is no query", "app.relay.track", `{}`, false},
		{"not JSON", "app.relay.feed.getTracks", `{"tracks":`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateQueryOutput(tc.nsid, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Errorf("ValidateQueryOutput(%s) = %v, want ok %v", tc.nsid, err, tc.ok)
			}
		})
	}
}
