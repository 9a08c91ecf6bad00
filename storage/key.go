package storage

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Key names a stored object: "audio/{sha256hex}.{ext}" or
// "art/{sha256hex}.{ext}", the hex lower case, the extension one the
// prefix allows. Only ParseKey and MakeKey make one, so a Key is safe as a
// path under the store's root and as a URL path: nothing in it but
// [0-9a-z/.].
type Key struct {
	prefix string
	sum    string
	ext    string
}

// MaxKeyLen bounds what ParseKey reads: the longest valid key is
// "audio/" + 64 hex + ".flac".
const MaxKeyLen = len("audio/") + 64 + len(".flac")

// contentTypes is, per prefix, each extension allowed there and the type it
// is served as. The extension is the one the publisher sniffed, never the
// uploader's file name.
var contentTypes = map[string]map[string]string{
	"audio": {
		"mp3":  "audio/mpeg",
		"wav":  "audio/wav",
		"ogg":  "audio/ogg",
		"opus": "audio/ogg", // Opus in Ogg, package media's extension for it
		"flac": "audio/flac",
		"m4a":  "audio/mp4",
	},
	"art": {
		"png":  "image/png",
		"jpg":  "image/jpeg",
		"jpeg": "image/jpeg",
		"webp": "image/webp",
	},
}

// ParseKey parses a key such as "audio/{sha256hex}.mp3". Use it on anything
// that came from a request or a record.
func ParseKey(raw string) (Key, error) {
	if len(raw) > MaxKeyLen {
		return Key{}, fmt.Errorf("storage key: longer than %d bytes", MaxKeyLen)
	}
	prefix, name, ok := strings.Cut(raw, "/")
	if !ok {
		return Key{}, fmt.Errorf("storage key %q: no prefix", raw)
	}
	types, ok := contentTypes[prefix]
	if !ok {
		return Key{}, fmt.Errorf("storage key %q: prefix is not audio or art", raw)
	}
	sum, ext, ok := strings.Cut(name, ".")
	if !ok {
		return Key{}, fmt.Errorf("storage key %q: no extension", raw)
	}
	if _, ok := types[ext]; !ok {
		return Key{}, fmt.Errorf("storage key %q: extension not allowed under %s/", raw, prefix)
	}
	if !isLowerHex(sum, 64) {
		return Key{}, fmt.Errorf("storage key %q: name is not a lower-case hex sha256", raw)
	}
	return Key{prefix: prefix, sum: sum, ext: ext}, nil
}

// MakeKey is the key of content whose sha256 is sum, under prefix ("audio"
// or "art") with extension ext ("mp3", "png", ...).
func MakeKey(prefix string, sum [32]byte, ext string) (Key, error) {
	return ParseKey(prefix + "/" + hex.EncodeToString(sum[:]) + "." + ext)
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// String is the key as stored and as it appears in URLs.
func (k Key) String() string { return k.prefix + "/" + k.sum + "." + k.ext }

// Prefix is "audio" or "art".
func (k Key) Prefix() string { return k.prefix }

// SHA256 is the content's sha256, lower-case hex.
func (k Key) SHA256() string { return k.sum }

// Ext is the extension, without its dot.
func (k Key) Ext() string { return k.ext }

// ContentType is the media type the key's content is served as.
func (k Key) ContentType() string { return contentTypes[k.prefix][k.ext] }

// IsZero reports whether k is the zero Key, which names nothing.
func (k Key) IsZero() bool { return k.prefix == "" }
