package media

import (
	"context"
	"fmt"
	"io"
)

// Audio is an upload relay takes: its format and its length.
type Audio struct {
	Format
	// Seconds is the duration, rounded to whole seconds (the lexicon's
	// duration).
	Seconds int64
}

// Probe sniffs an audio file and reads its duration: what the publish
// endpoint calls on an upload spooled to a temporary file of size bytes.
// Its errors are ErrUnsupported or ErrInvalid (a 400, message fit for the
// client) or the error of ctx.
func Probe(ctx context.Context, r io.ReaderAt, size int64) (Audio, error) {
	f, err := Sniff(ctx, r, size)
	if err != nil {
		return Audio{}, err
	}
	secs, err := Duration(ctx, r, size, f)
	if err != nil {
		return Audio{}, err
	}
	return Audio{Format: f, Seconds: secs}, nil
}

// Duration reads the length in whole seconds of an audio file Sniff said is
// of format f, from its headers (and, for an MP3 without a Xing or VBRI
// header, its frames), never holding more than a page or a frame of it.
func Duration(ctx context.Context, r io.ReaderAt, size int64, f Format) (int64, error) {
	if size < 0 {
		return 0, invalid("negative size %d", size)
	}
	head := newSrc(ctx, r, size, MaxHeaderBytes)
	var first [10]byte
	n, _ := head.ReadAt(first[:], 0)
	off, _, err := skipID3(head, first[:n])
	if err != nil {
		return 0, err
	}
	switch f {
	case MP3:
		// The walk reads the file once: its budget is the file.
		return mp3Duration(newSrc(ctx, r, size, size), off)
	case WAV:
		return wavDuration(head)
	case FLAC:
		return flacDuration(head, off)
	case OggVorbis, OggOpus:
		return oggDuration(newSrc(ctx, r, size, maxPage+MaxOggTail+256<<10), f)
	case M4A:
		return m4aDuration(head)
	}
	return 0, fmt.Errorf("media: duration of unknown format %q", f.FileType)
}
