package media_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/relaymusic/relay/media"
)

// An upload spooled to a file is probed through its io.ReaderAt: the
// format gives the record its fileType and the object key its extension.
func ExampleProbe() {
	f, err := os.Open("testdata/sine-3s.opus")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		panic(err)
	}
	a, err := media.Probe(context.Background(), f, st.Size())
	if err != nil {
		panic(err)
	}
	fmt.Println(a.FileType, a.Ext, a.MIME, a.Codec, a.Seconds)
	// Output: ogg opus audio/ogg opus 3
}

// A file that is not audio, whatever its name, is ErrUnsupported with a
// message for the client.
func ExampleSniff() {
	r := strings.NewReader("<!doctype html><p>not a song</p>")
	_, err := media.Sniff(context.Background(), r, r.Size())
	fmt.Println(errors.Is(err, media.ErrUnsupported))
	fmt.Println(err)
	// Output:
	// true
	// unsupported file: html text (relay takes mp3, wav, ogg (vorbis or opus), flac and m4a)
}
