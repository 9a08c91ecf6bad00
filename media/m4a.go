package media

import (
	"io"

	mp4 "github.com/abema/go-mp4"
)

// bmff is what the box walk learned of an ISO BMFF file.
type bmff struct {
	sound, video bool
	// rate and length of the first sound track (its mdhd), else of the
	// movie (mvhd, or mehd for a fragmented file).
	trackScale, trackLen uint64
	movieScale, movieLen uint64
	fragLen              uint64
}

// walkBMFF walks the box tree with github.com/abema/go-mp4, expanding only
// moov, trak, mdia and mvex and parsing only mvhd, mehd, mdhd and hdlr:
// MaxBoxes boxes at most, MaxBoxDepth deep, every box inside the file, every
// parsed box under 64 KB (their fields are fixed; a bigger one lies).
func walkBMFF(s *src) (bmff, error) {
	var (
		info  bmff
		boxes int
		// the trak being walked: its handler and its mdhd, paired at its end
		inTrak        bool
		handler       string
		scale, length uint64
	)
	endTrak := func() {
		if !inTrak {
			return
		}
		switch handler {
		case "soun":
			if !info.sound {
				info.trackScale, info.trackLen = scale, length
			}
			info.sound = true
		case "vide":
			info.video = true
		}
		inTrak, handler, scale, length = false, "", 0, 0
	}

	r := io.NewSectionReader(s, 0, s.size)
	_, err := mp4.ReadBoxStructure(r, func(h *mp4.ReadHandle) (any, error) {
		boxes++
		if boxes > MaxBoxes {
			return nil, invalid("m4a: more than %d boxes", MaxBoxes)
		}
		if len(h.Path) > MaxBoxDepth {
			return nil, invalid("m4a: boxes nested deeper than %d", MaxBoxDepth)
		}
		bi := h.BoxInfo
		if bi.Size > uint64(s.size) || bi.Offset+bi.Size > uint64(s.size) { // the first test keeps the sum from wrapping
			return nil, invalid("m4a: box %s extends past the end of the file", fourCC([]byte(bi.Type.String())))
		}
		switch bi.Type {
		case mp4.BoxTypeMoov(), mp4.BoxTypeMdia(), mp4.BoxTypeMvex():
			return h.Expand()
		case mp4.BoxTypeTrak():
			endTrak()
			inTrak = true
			v, err := h.Expand()
			endTrak()
			return v, err
		case mp4.BoxTypeMvhd(), mp4.BoxTypeMehd(), mp4.BoxTypeMdhd(), mp4.BoxTypeHdlr():
		default:
			return nil, nil
		}
		if bi.Size > 64<<10 {
			return nil, invalid("m4a: %s box of %d bytes", bi.Type.String(), bi.Size)
		}
		box, _, err := h.ReadPayload()
		if err != nil {
			return nil, err
		}
		switch b := box.(type) {
		case *mp4.Mvhd:
			info.movieScale, info.movieLen = uint64(b.Timescale), pick(b.GetVersion(), uint64(b.DurationV0), b.DurationV1)
		case *mp4.Mehd:
			info.fragLen = pick(b.GetVersion(), uint64(b.FragmentDurationV0), b.FragmentDurationV1)
		case *mp4.Mdhd:
			if inTrak {
				scale, length = uint64(b.Timescale), pick(b.GetVersion(), uint64(b.DurationV0), b.DurationV1)
			}
		case *mp4.Hdlr:
			if inTrak && len(h.Path) >= 2 && h.Path[len(h.Path)-2] == mp4.BoxTypeMdia() {
				handler = string(b.HandlerType[:])
			}
		}
		return nil, nil
	})
	if err != nil {
		return bmff{}, readErr("m4a", err)
	}
	return info, nil
}

func pick(version uint8, v0, v1 uint64) uint64 {
	if version == 1 {
		return v1
	}
	return v0
}

// m4aDuration is the first sound track's mdhd duration over its timescale,
// or the movie's (mvhd, then mehd for a fragmented file whose mvhd says 0).
func m4aDuration(s *src) (int64, error) {
	info, err := walkBMFF(s)
	if err != nil {
		return 0, err
	}
	if !info.sound {
		return 0, unsupported("an mp4 file without an audio track (%s)", taken)
	}
	switch {
	case info.trackLen > 0 && info.trackLen != ^uint64(0) && info.trackLen != 0xFFFFFFFF:
		return seconds("m4a", info.trackLen, info.trackScale)
	case info.movieLen > 0 && info.movieLen != ^uint64(0) && info.movieLen != 0xFFFFFFFF:
		return seconds("m4a", info.movieLen, info.movieScale)
	case info.fragLen > 0:
		return seconds("m4a", info.fragLen, info.movieScale)
	}
	return 0, invalid("m4a: no duration in the headers")
}
