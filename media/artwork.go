package media

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// Image is a cover image relay takes.
type Image struct {
	// Ext and MIME: "png" image/png, "jpg" image/jpeg, "webp" image/webp.
	Ext, MIME     string
	Width, Height int
}

// Artwork sniffs a cover image (png, jpeg or webp, by content) and reads its
// dimensions from its header with the standard decoders' DecodeConfig (and
// golang.org/x/image/webp's), never decoding pixels. A file over
// MaxArtworkBytes, or a side over MaxArtworkSide, is ErrInvalid; another
// kind of file ErrUnsupported.
func Artwork(ctx context.Context, r io.ReaderAt, size int64) (Image, error) {
	if size < 0 {
		return Image{}, invalid("artwork: negative size %d", size)
	}
	if size > MaxArtworkBytes {
		return Image{}, invalid("artwork: %d bytes, relay takes at most %d", size, MaxArtworkBytes)
	}
	s := newSrc(ctx, r, size, 2*size) // the head, then the decoder's read
	head := make([]byte, min(size, 16))
	if err := s.full(head, 0); err != nil {
		return Image{}, readErr("artwork", err)
	}
	var (
		img    Image
		config func(io.Reader) (image.Config, error)
	)
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		img, config = Image{Ext: "png", MIME: "image/png"}, png.DecodeConfig
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		img, config = Image{Ext: "jpg", MIME: "image/jpeg"}, jpeg.DecodeConfig
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		img, config = Image{Ext: "webp", MIME: "image/webp"}, webp.DecodeConfig
	default:
		return Image{}, unsupported("artwork is %s (relay takes png, jpeg and webp)", describe(head))
	}
	c, err := config(bufio.NewReaderSize(io.NewSectionReader(s, 0, size), 4096))
	if err != nil {
		return Image{}, readErr("artwork", err)
	}
	if c.Width <= 0 || c.Height <= 0 || c.Width > MaxArtworkSide || c.Height > MaxArtworkSide {
		return Image{}, invalid("artwork: %dx%d pixels, relay takes 1 to %d a side", c.Width, c.Height, MaxArtworkSide)
	}
	img.Width, img.Height = c.Width, c.Height
	return img, nil
}
