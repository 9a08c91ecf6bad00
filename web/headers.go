package web

import "net/http"

// csp is every page's Content-Security-Policy: scripts and styles only
// from this origin's files (no inline script, no eval, no inline
// handlers), media and artwork from here or https, nothing framing the
// page. embedCSP is the embeddable player's: any site may frame it, and it
// runs no script at all.
const (
	csp      = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; media-src 'self' https:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	embedCSP = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' https:; media-src 'self' https:; base-uri 'none'; form-action 'none'; frame-ancestors *"
)

func setSecurityHeaders(h http.Header, embed bool) {
	if embed {
		h.Set("Content-Security-Policy", embedCSP)
	} else {
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	}
	h.Set("X-Content-Type-Options", "nosniff")
	// Audio and artwork hosts learn nothing of which page asked.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
