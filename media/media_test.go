package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sineWAV writes a 16-bit mono PCM WAV of a 440 Hz sine.
func sineWAV(seconds float64, rate int) []byte {
	n := int(seconds * float64(rate))
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(math.Sin(2*math.Pi*440*float64(i)/float64(rate)) * 12000)
		binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func probe(b []byte) (Audio, error) {
	return Probe(context.Background(), bytes.NewReader(b), int64(len(b)))
}

func encodePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestProbe: every format relay takes, made by a real encoder (gen.sh) or
// in Go (WAV), is sniffed right and its duration read within a second.
func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
		want Format
		secs int64
	}{
		{"mp3 with id3 and info header", sample(t, "sine-3s.mp3"), MP3, 3},
		{"bare mp3, frame walk", sample(t, "sine-2s-bare.mp3"), MP3, 2},
		{"wav 16-bit mono", sineWAV(2, 8000), WAV, 2},
		{"wav 1.4 s rounds down", sineWAV(1.4, 8000), WAV, 1},
		{"ogg vorbis", sample(t, "sine-2s.ogg"), OggVorbis, 2},
		{"ogg opus", sample(t, "sine-3s.opus"), OggOpus, 3},
		{"flac", sample(t, "sine-2s.flac"), FLAC, 2},
		{"m4a, moov at the end", sample(t, "sine-3s.m4a"), M4A, 3},
		{"m4a, faststart", sample(t, "sine-1s-faststart.m4a"), M4A, 1},
		{"mp3 with zeros between its id3 tag and first frame", append(id3Tag(100), append(make([]byte, 300), sample(t, "sine-2s-bare.mp3")...)...), MP3, 2},
		{"flac behind an id3 tag", append(id3Tag(100), sample(t, "sine-2s.flac")...), FLAC, 2},
		// the last page is looked for back from the end, window by window
		{"ogg with 300 KB after its last page", append(sample(t, "sine-2s.ogg"), make([]byte, 300<<10)...), OggVorbis, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := probe(tc.file)
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			if a.Format != tc.want {
				t.Errorf("format %+v, want %+v", a.Format, tc.want)
			}
			if d := a.Seconds - tc.secs; d < -1 || d > 1 {
				t.Errorf("duration %d s, want %d ± 1", a.Seconds, tc.secs)
			}
		})
	}
}

// TestFileTypes: every FileType Sniff can return is a knownValue of the
// lexicon's fileType.
func TestFileTypes(t *testing.T) {
	lex, err := os.ReadFile("../lexicons/app/relay/track.json")
	if err != nil {
		t.Fatal(err)
	}
	known := `"knownValues": ["mp3", "wav", "ogg", "flac", "m4a"]`
	if !bytes.Contains(lex, []byte(known)) {
		t.Fatalf("track.json no longer says %s", known)
	}
	for _, f := range []Format{MP3, WAV, OggVorbis, OggOpus, FLAC, M4A} {
		if !strings.Contains(known, `"`+f.FileType+`"`) || f.MIME == "" || f.Ext == "" {
			t.Errorf("%+v: not a lexicon fileType or missing ext/mime", f)
		}
	}
}

func id3Tag(body int) []byte {
	h := []byte{'I', 'D', '3', 4, 0, 0, byte(body >> 21 & 0x7f), byte(body >> 14 & 0x7f), byte(body >> 7 & 0x7f), byte(body & 0x7f)}
	return append(h, make([]byte, body)...)
}

// TestRefused: files of other kinds, whatever they are named, are
// ErrUnsupported with a message naming what they look like.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name, says string
		file       []byte
	}{
		{"text named .mp3", "plain text", []byte("this is not a song, just a text file\n")},
		{"html named .mp3", "html text", []byte("<!DOCTYPE html><html><body>hi</body></html>")},
		{"png named .mp3", "png image", encodePNG(t, 8, 8)},
		{"jpeg named .mp3", "jpeg image", encodeJPEG(t, 8, 8)},
		{"json", "json text", []byte(`{"title": "x"}`)},
		{"empty", "empty file", nil},
		{"zip", "zip archive", []byte("PK\x03\x04rest of a zip")},
		{"mp4 video without sound", "without an audio track", sample(t, "video.mp4")},
		{"flac in ogg", "flac in an ogg", sample(t, "flac-in-ogg.oga")},
		{"riff that is not wave", "riff file", []byte("RIFF\x04\x00\x00\x00AVI ")},
		{"random binary", "unknown binary", []byte{0, 1, 2, 3, 0xfe, 0x80, 0, 9}},
		{"one mpeg sync word", "not mpeg audio", append([]byte{0xff, 0xfb, 0x90, 0x00}, bytes.Repeat([]byte{0x55}, 2000)...)},
		{"webp as audio", "riff file", sample(t, "cover.webp")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := probe(tc.file)
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err %v, want ErrUnsupported", err)
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "relay takes mp3") {
				t.Errorf("message %q does not say %q and what relay takes", err, tc.says)
			}
		})
	}
}

// TestTruncated: a file cut inside its headers is refused; one cut in its
// audio is refused where the header's length can be checked (wav, m4a),
// and shorter where the length is the audio itself (mp3 frames, ogg pages).
func TestTruncated(t *testing.T) {
	files := map[string][]byte{
		"mp3": sample(t, "sine-3s.mp3"), "bare.mp3": sample(t, "sine-2s-bare.mp3"),
		"wav": sineWAV(2, 8000), "ogg": sample(t, "sine-2s.ogg"), "opus": sample(t, "sine-3s.opus"),
		"flac": sample(t, "sine-2s.flac"), "m4a": sample(t, "sine-3s.m4a"), "faststart.m4a": sample(t, "sine-1s-faststart.m4a"),
	}
	for name, b := range files {
		for _, n := range []int{1, 4, 11, 30, 44, 60} {
			if _, err := probe(b[:n]); err == nil {
				t.Errorf("%s cut to %d bytes: accepted", name, n)
			}
		}
	}
	for _, tc := range []struct {
		name string
		file []byte
		secs int64 // -1: refused
	}{
		{"wav cut in half", files["wav"][:len(files["wav"])/2], -1},
		{"m4a cut in half (moov lost)", files["m4a"][:len(files["m4a"])/2], -1},
		{"faststart m4a cut in half (mdat short)", files["faststart.m4a"][:len(files["faststart.m4a"])/2+100], -1},
		{"bare mp3 cut in half", files["bare.mp3"][:len(files["bare.mp3"])/2], 1},
		{"ogg cut in half (in the setup header)", files["ogg"][:len(files["ogg"])/2], -1},
		{"ogg cut in its last page", files["ogg"][:len(files["ogg"])-500], 1},
		{"opus cut in its last page", files["opus"][:len(files["opus"])-300], 2},
	} {
		a, err := probe(tc.file)
		switch {
		case tc.secs < 0 && !errors.Is(err, ErrInvalid):
			t.Errorf("%s: %+v %v, want ErrInvalid", tc.name, a, err)
		case tc.secs >= 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.secs >= 0 && (a.Seconds < tc.secs-1 || a.Seconds > tc.secs+1):
			t.Errorf("%s: %d s, want %d ± 1", tc.name, a.Seconds, tc.secs)
		}
	}
}

// TestHostile: headers that lie about sizes, counts or durations, and
// structures past each bound, are ErrInvalid (never a panic, never a big
// allocation: the fuzz test and the budget test watch those).
func TestHostile(t *testing.T) {
	wav := sineWAV(1, 8000)
	le32 := func(b []byte, off int, v uint32) []byte {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint32(c[off:], v)
		return c
	}
	le16 := func(b []byte, off int, v uint16) []byte {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint16(c[off:], v)
		return c
	}
	manyChunks := bytes.Clone(wav[:12])
	for i := 0; i <= MaxChunks; i++ {
		manyChunks = append(manyChunks, "junk\x00\x00\x00\x00"...)
	}
	manyChunks = append(manyChunks, wav[12:]...)
	binary.LittleEndian.PutUint32(manyChunks[4:], uint32(len(manyChunks)-8))

	mp3 := sample(t, "sine-3s.mp3")
	info := bytes.Index(mp3, []byte("Info"))
	hugeXing := bytes.Clone(mp3)
	binary.BigEndian.PutUint32(hugeXing[info+8:], 0xFFFFFFF0)

	flac := sample(t, "sine-2s.flac")
	// STREAMINFO's last 16 bytes are the MD5; the 36-bit sample count ends before them.
	hugeFlac := bytes.Clone(flac)
	si := 8 // "fLaC" and the block header
	hugeFlac[si+13] |= 0x0F
	copy(hugeFlac[si+14:si+18], []byte{0xFF, 0xFF, 0xFF, 0xFF})
	zeroRate := bytes.Clone(flac)
	zeroRate[si+10], zeroRate[si+11], zeroRate[si+12] = 0, 0, zeroRate[si+12]&0x0F
	pictureFirst := bytes.Clone(flac)
	pictureFirst[4] = 6 // block type picture, its claimed length untouched

	m4a := sample(t, "sine-1s-faststart.m4a")
	deep := nested("moov", MaxBoxDepth+2)
	manyBoxes := bytes.Clone(m4a[:binary.BigEndian.Uint32(m4a)])
	for i := 0; i <= MaxBoxes; i++ {
		manyBoxes = append(manyBoxes, "\x00\x00\x00\x08free"...)
	}
	hugeMdhd := bytes.Clone(m4a)
	md := bytes.Index(hugeMdhd, []byte("mdhd"))
	binary.BigEndian.PutUint32(hugeMdhd[md+12+4:], 1)          // timescale 1
	binary.BigEndian.PutUint32(hugeMdhd[md+12+8:], 0xFFFFFFF0) // ~136 years
	mvhd := bytes.Index(hugeMdhd, []byte("mvhd"))
	binary.BigEndian.PutUint32(hugeMdhd[mvhd+12+8:], 0xFFFFFFF0)
	bigBox := bytes.Clone(m4a)
	moov := bytes.Index(bigBox, []byte("moov"))
	binary.BigEndian.PutUint32(bigBox[moov-4:], 0x7FFFFFF0)

	ogg := sample(t, "sine-2s.ogg")
	hugeGranule := lastPageGranule(t, ogg, 1<<40)
	opus := sample(t, "sine-3s.opus")
	beforePreskip := lastPageGranule(t, opus, 10)

	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"wav riff size past the end", le32(wav, 4, 1<<30)},
		{"wav data size past the end", le32(wav, 40, 1<<30)},
		{"wav data size 0xFFFFFFFF", le32(le32(wav, 40, 0xFFFFFFFF), 4, 0xFFFFFFFF)},
		{"wav byte rate that lies", le32(wav, 28, 1)},
		{"wav zero byte rate", le32(wav, 28, 0)},
		{"wav zero channels", le16(wav, 22, 0)},
		{"wav more chunks than MaxChunks", manyChunks},
		{"id3 tag past the end", append(id3Tag(10), 0xff)[:15]},
		{"more id3 tags than MaxID3Tags", append(bytes.Repeat(id3Tag(0), MaxID3Tags+1), mp3...)},
		{"id3 tag then text", append(id3Tag(20), "just words after a tag"...)},
		{"mp3 xing frame count past 24 h", hugeXing},
		{"flac sample count past 24 h", hugeFlac},
		{"flac zero sample rate", zeroRate},
		{"flac first block not streaminfo", pictureFirst},
		{"m4a nested deeper than MaxBoxDepth", append(bytes.Clone(m4a[:binary.BigEndian.Uint32(m4a)]), deep...)},
		{"m4a more boxes than MaxBoxes", manyBoxes},
		{"m4a mdhd duration past 24 h", hugeMdhd},
		{"m4a box past the end of the file", bigBox},
		{"ogg granule past 24 h", hugeGranule},
		{"opus granule before pre-skip", beforePreskip},
		{"ogg last page further back than MaxOggTail", append(bytes.Clone(ogg), make([]byte, MaxOggTail+1)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := probe(tc.file)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%+v, %v: want ErrInvalid", a, err)
			}
			t.Log(err)
		})
	}
}

// nested is a box of type typ inside one of the same type, depth deep.
func nested(typ string, depth int) []byte {
	b := []byte{}
	for i := 0; i < depth; i++ {
		h := make([]byte, 8, 8+len(b))
		binary.BigEndian.PutUint32(h, uint32(8+len(b)))
		copy(h[4:], typ)
		b = append(h, b...)
	}
	return b
}

// lastPageGranule rewrites the granule position of the file's last Ogg
// page, with a fresh CRC so the page still counts.
func lastPageGranule(t *testing.T, b []byte, g uint64) []byte {
	t.Helper()
	c := bytes.Clone(b)
	i := bytes.LastIndex(c, []byte("OggS"))
	p, err := parsePage(c[i:])
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(c[i+6:], g)
	binary.LittleEndian.PutUint32(c[i+22:], oggCRC(c[i:i+p.length]))
	return c
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// writeWAV streams a WAV of the given seconds of 44.1 kHz stereo 16-bit
// silence to a file, never whole in memory.
func writeWAV(t testing.TB, path string, secs int) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := uint32(secs * 44100 * 4)
	h := sineWAV(0, 44100)
	binary.LittleEndian.PutUint32(h[4:], 36+n)
	binary.LittleEndian.PutUint16(h[22:], 2)
	binary.LittleEndian.PutUint32(h[28:], 44100*4)
	binary.LittleEndian.PutUint16(h[32:], 4)
	binary.LittleEndian.PutUint32(h[40:], n)
	if _, err := f.Write(h); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(h)) + int64(n)); err != nil {
		t.Fatal(err)
	}
	return int64(len(h)) + int64(n)
}

// TestHeaderOnlyReads: for every format but an MP3 without a frame count,
// Probe reads the headers, not the file: a 50 MB WAV costs a few hundred
// bytes, and each sample far less than its size's budget.
func TestHeaderOnlyReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.wav")
	size := writeWAV(t, path, 300) // 300 s, 52.9 MB
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &countingReader{r: f}
	a, err := Probe(context.Background(), c, size)
	if err != nil || a.Seconds != 300 {
		t.Fatalf("%+v %v, want 300 s", a, err)
	}
	if c.n > 16<<10 {
		t.Errorf("read %d bytes of a %d-byte wav, want under 16 KiB", c.n, size)
	}
	// Each sample with 1 MiB of zeros after its audio, which no header
	// parser reads (the last Ogg page is looked for from the end, so the
	// Ogg samples are left out: zeros there are a file cut short).
	for _, name := range []string{"sine-3s.mp3", "sine-1s-faststart.m4a", "sine-2s.flac"} {
		big := append(sample(t, name), make([]byte, 1<<20)...)
		c := &countingReader{r: bytes.NewReader(big)}
		if _, err := Probe(context.Background(), c, int64(len(big))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.n > 64<<10 {
			t.Errorf("%s: read %d bytes of %d, want under 64 KiB", name, c.n, len(big))
		}
	}
}

// TestNegativeSize: a caller's bad size is an error, not a panic in make.
func TestNegativeSize(t *testing.T) {
	r := bytes.NewReader(nil)
	if _, err := Sniff(context.Background(), r, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("Sniff: %v", err)
	}
	if _, err := Duration(context.Background(), r, -1, MP3); !errors.Is(err, ErrInvalid) {
		t.Errorf("Duration: %v", err)
	}
	if _, err := Artwork(context.Background(), r, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("Artwork: %v", err)
	}
}

// TestContext: a done context stops a parser with its own error, not a
// 400-worthy ErrInvalid.
func TestContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := sample(t, "sine-2s-bare.mp3")
	_, err := Probe(ctx, bytes.NewReader(b), int64(len(b)))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestArtwork: png, jpeg and webp are sniffed with their dimensions; past a
// bound or of another kind, refused.
func TestArtwork(t *testing.T) {
	big := encodePNG(t, 8, 8)
	big = append(big, make([]byte, MaxArtworkBytes)...)
	for _, tc := range []struct {
		name string
		file []byte
		ext  string
		w, h int
		err  error
	}{
		{"png", encodePNG(t, 40, 30), "png", 40, 30, nil},
		{"jpeg", encodeJPEG(t, 64, 48), "jpg", 64, 48, nil},
		{"webp", sample(t, "cover.webp"), "webp", 40, 30, nil},
		{"png at the side bound", encodePNG(t, MaxArtworkSide, 1), "png", MaxArtworkSide, 1, nil},
		{"png a pixel past the side bound", encodePNG(t, MaxArtworkSide+1, 1), "", 0, 0, ErrInvalid},
		{"jpeg a pixel past the side bound", encodeJPEG(t, 1, MaxArtworkSide+1), "", 0, 0, ErrInvalid},
		{"over MaxArtworkBytes", big, "", 0, 0, ErrInvalid},
		{"png cut short", encodePNG(t, 40, 30)[:20], "", 0, 0, ErrInvalid},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), "", 0, 0, ErrUnsupported},
		{"mp3 as artwork", sample(t, "sine-3s.mp3"), "", 0, 0, ErrUnsupported},
		{"text", []byte("hello"), "", 0, 0, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Artwork(context.Background(), bytes.NewReader(tc.file), int64(len(tc.file)))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("%+v %v, want %v", img, err, tc.err)
				}
				return
			}
			if err != nil || img.Ext != tc.ext || img.Width != tc.w || img.Height != tc.h {
				t.Fatalf("%+v %v, want %s %dx%d", img, err, tc.ext, tc.w, tc.h)
			}
		})
	}
}

// frames is a virtual MP3 of n frames of MPEG-2.5 layer III, 8 kbps, 8 kHz
// mono (72 bytes, 72 ms each): real frame headers, silent bodies, served
// without being held, so a walk over hours of audio costs no memory here.
type frames struct{ n int64 }

const frameLen = 72

var frame = append([]byte{0xFF, 0xE3, 0x18, 0xC0}, make([]byte, frameLen-4)...)

func (f frames) size() int64 { return f.n * frameLen }

func (f frames) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for ; n < len(p) && off+int64(n) < f.size(); n++ {
		p[n] = frame[(off+int64(n))%frameLen]
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestMP3Walk: an MP3 without a frame count is walked frame by frame;
// junk between frames up to MaxJunk is passed over and past it refused; a
// walk past MaxDuration is refused.
func TestMP3Walk(t *testing.T) {
	bare := sample(t, "sine-2s-bare.mp3")
	join := func(junk int) []byte {
		return append(append(bytes.Clone(bare), make([]byte, junk)...), bare...)
	}
	for _, tc := range []struct {
		name string
		r    io.ReaderAt
		size int64
		secs int64 // -1: ErrInvalid
	}{
		{"two files end to end", bytes.NewReader(join(0)), int64(len(join(0))), 4},
		{"1 KB of zeros between frames", bytes.NewReader(join(1024)), int64(len(join(1024))), 4},
		{"MaxJunk+1 zeros between frames", bytes.NewReader(join(MaxJunk + 1)), int64(len(join(MaxJunk + 1))), -1},
		{"an hour of frames", frames{50_000}, frames{50_000}.size(), 3600},
		{"24 h and a minute of frames", frames{1_201_000}, frames{1_201_000}.size(), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Probe(context.Background(), tc.r, tc.size)
			if tc.secs < 0 {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("%+v %v, want ErrInvalid", a, err)
				}
				t.Log(err)
				return
			}
			if err != nil || a.Format != MP3 || a.Seconds < tc.secs-1 || a.Seconds > tc.secs+1 {
				t.Fatalf("%+v %v, want mp3 of %d s", a, err, tc.secs)
			}
		})
	}
}
