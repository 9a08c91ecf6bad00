package storage

import (
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	hex64 := strings.Repeat("0f", 32)
	tests := []struct {
		raw      string
		ok       bool
		wantType string
	}{
		{"audio/" + hex64 + ".mp3", true, "audio/mpeg"},
		{"audio/" + hex64 + ".wav", true, "audio/wav"},
		{"audio/" + hex64 + ".ogg", true, "audio/ogg"},
		{"audio/" + hex64 + ".flac", true, "audio/flac"},
		{"audio/" + hex64 + ".opus", true, "audio/ogg"},
		{"audio/" + hex64 + ".m4a", true, "audio/mp4"},
		{"art/" + hex64 + ".png", true, "image/png"},
		{"art/" + hex64 + ".jpg", true, "image/jpeg"},
		{"art/" + hex64 + ".jpeg", true, "image/jpeg"},
		{"art/" + hex64 + ".webp", true, "image/webp"},
		{"", false, ""},
		{"audio/", false, ""},
		{hex64 + ".mp3", false, ""},
		{"/audio/" + hex64 + ".mp3", false, ""},
		{"audio/" + hex64, false, ""},
		{"audio/" + hex64 + ".", false, ""},
		{"audio/" + hex64 + ".png", false, ""},
		{"art/" + hex64 + ".mp3", false, ""},
		{"audio/" + hex64 + ".MP3", false, ""},
		{"audio/" + hex64 + ".mp3.html", false, ""},
		{"audio/" + strings.ToUpper(hex64) + ".mp3", false, ""},
		{"audio/" + hex64[:63] + ".mp3", false, ""},
		{"audio/" + hex64 + "0.mp3", false, ""},
		{"audio/" + hex64[:63] + "g.mp3", false, ""},
		{"audio/../" + hex64 + ".mp3", false, ""},
		{"audio/" + hex64 + ".mp3/", false, ""},
		{"audio//" + hex64 + ".mp3", false, ""},
		{"audio/" + hex64 + ".mp3\x00", false, ""},
		{"audio/" + hex64 + "\x00.mp3", false, ""},
		{"video/" + hex64 + ".mp4", false, ""},
		{"audio/" + strings.Repeat("0", 1<<20) + ".mp3", false, ""},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("ParseKey(%.80q) err = %v, want ok=%v", tt.raw, err, tt.ok)
			continue
		}
		if !tt.ok {
			if !k.IsZero() {
				t.Errorf("ParseKey(%.80q) returned a key with its error", tt.raw)
			}
			continue
		}
		if k.String() != tt.raw || k.ContentType() != tt.wantType || k.SHA256() != hex64 {
			t.Errorf("ParseKey(%q) = %q %q %q", tt.raw, k.String(), k.ContentType(), k.SHA256())
		}
	}
	if len("audio/"+hex64+".flac") != MaxKeyLen {
		t.Fatalf("MaxKeyLen %d is not the longest valid key", MaxKeyLen)
	}
}

// FuzzParseKey: whatever parses is its own string, holds only [0-9a-z/.],
// and parses again to itself.
func FuzzParseKey(f *testing.F) {
	f.Add("audio/" + strings.Repeat("0f", 32) + ".mp3")
	f.Add("art/../x.png")
	f.Fuzz(func(t *testing.T, raw string) {
		k, err := ParseKey(raw)
		if err != nil {
			return
		}
		if k.String() != raw {
			t.Fatalf("ParseKey(%q).String() = %q", raw, k.String())
		}
		for _, c := range raw {
			if (c < '0' || c > '9') && (c < 'a' || c > 'z') && c != '/' && c != '.' {
				t.Fatalf("key %q holds %q", raw, c)
			}
		}
		if strings.Contains(raw, "..") || strings.Count(raw, "/") != 1 || k.ContentType() == "" {
			t.Fatalf("key %q parsed", raw)
		}
	})
}
