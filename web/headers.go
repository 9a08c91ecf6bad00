package web

import (
	"net/http"
	"strings"
)

// csp is every page's Content-Security-Policy: scripts and styles only
// from this origin's files (no inline script, no eval, no inline
// handlers), media and artwork from here or https, nothing framing the
// page. publishCSP is the publish page's: the same, except that its OAuth
// form's redirect may go on to the user's authorization server, which
// only the user's DID document names (browsers check form-action on a
// form's redirects too). embedCSP is the embeddable player's: any site may
// frame it, and it runs no script at all.
const (
	csp        = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; media-src 'self' https:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	publishCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; media-src 'self' https:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self' https:; frame-ancestors 'none'"
	embedCSP   = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' https:; media-src 'self' https:; base-uri 'none'; form-action 'none'; frame-ancestors *"
)

// policy is which Content-Security-Policy a path gets.
type policy int

const (
	policyPage policy = iota
	policyPublish
	policyEmbed
)

func policyOf(path string) policy {
	switch {
	case strings.HasPrefix(path, "/embed/"):
		return policyEmbed
	case path == "/publish":
		return policyPublish
	}
	return policyPage
}

func setSecurityHeaders(h http.Header, p policy) {
	switch p {
	case policyEmbed:
		h.Set("Content-Security-Policy", embedCSP)
	case policyPublish:
		h.Set("Content-Security-Policy", publishCSP)
	default:
		h.Set("Content-Security-Policy", csp)
	}
	if p != policyEmbed {
		h.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	}
	h.Set("X-Content-Type-Options", "nosniff")
	// Audio and artwork hosts learn nothing of which page asked.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
