package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// asset is one static file under its content-hashed name: a new build
// with a changed file changes its name, so browsers may keep each name
// for a year.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

var (
	assets     = map[string]asset{}  // by hashed name
	assetNames = map[string]string{} // plain name to hashed name
)

func init() {
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		hash := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hash + ext
		assets[hashed] = asset{body: b, ctype: mime.TypeByExtension(ext), etag: `"` + hash + `"`}
		assetNames[e.Name()] = hashed
	}
}

// assetURL is the path of a static file by its plain name; a name that
// does not exist is a bug of the templates, so it panics at render.
func assetURL(name string) string {
	h, ok := assetNames[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return "/static/" + h
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", a.etag)
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(a.body)
}
