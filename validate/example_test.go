package validate_test

import (
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/validate"
)

// A record from the network is validated once, with the commit that carried
// it; what comes out is a typed track, or a rejection with its reason.
func ExampleTrack() {
	did := syntax.DID("did:plc:alice5rxbvqptxhmrrkjtu6m")
	rkey := syntax.RecordKey("3mmoojp7etg2a")
	const rev, cid = "3mmoojp7vgo2a", "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"

	record := []byte(`{"$type":"app.relay.track","title":"Jóga","artist":"Björk",` +
		`"audioUrl":"https://audio.relay.example/j.mp3","fileType":"MP3","duration":305,` +
		`"createdAt":"2025-10-03T09:00:00.000Z"}`)
	t, err := validate.Track(did, rkey, rev, cid, record)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.URI(), t.Title, "by", t.Artist, t.FileType, *t.Duration, "s")

	insecure := []byte(`{"$type":"app.relay.track","title":"Jóga","artist":"Björk",` +
		`"audioUrl":"http://audio.relay.example/j.mp3","fileType":"mp3",` +
		`"createdAt":"2025-10-03T09:00:00.000Z"}`)
	_, err = validate.Track(did, rkey, rev, cid, insecure)
	var rej *validate.RejectError
	if errors.As(err, &rej) {
		fmt.Println(rej.Reason, rej.Subject)
	}
	// Output:
	// at://did:plc:alice5rxbvqptxhmrrkjtu6m/app.relay.track/3mmoojp7etg2a Jóga by Björk mp3 305 s
	// insecure_audio_url at://did:plc:alice5rxbvqptxhmrrkjtu6m/app.relay.track/3mmoojp7etg2a
}
