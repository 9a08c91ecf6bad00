package appview

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/validate"
)

// ServiceIdentity is who the service says it is: a did:web naming the host
// of its public URL, whose document (/.well-known/did.json) points ATProto
// clients and PDS proxies at the appview.
type ServiceIdentity struct {
	DID       syntax.DID
	PublicURL string // the appview's endpoint: scheme and host, no trailing slash
}

// NewServiceIdentity checks that did is a did:web of the host of publicURL
// (a host-level did:web: its document is what /.well-known/did.json
// serves) and that publicURL is an https origin (http only on loopback, for
// local test networks). No did: no identity, nil, once publicURL (which
// also names the instance's own media origin) is checked.
func NewServiceIdentity(did, publicURL string) (*ServiceIdentity, error) {
	if did == "" && publicURL == "" {
		return nil, nil
	}
	if publicURL == "" {
		return nil, fmt.Errorf("service identity: --service-did needs --public-url")
	}
	origin, err := validate.CheckOrigin(publicURL)
	if err != nil {
		return nil, fmt.Errorf("service identity: %w", err)
	}
	if did == "" {
		return nil, nil
	}
	d, err := syntax.ParseDID(did)
	if err != nil || d.Method() != "web" {
		return nil, fmt.Errorf("service identity: service did %q must be a did:web", did)
	}
	// did:web encodes a port's colon as %3A; a further colon is a path,
	// whose document is not at /.well-known.
	host := strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://")
	if want := "did:web:" + strings.ReplaceAll(strings.ToLower(host), ":", "%3A"); !strings.EqualFold(d.String(), want) {
		return nil, fmt.Errorf("service identity: service did %q does not name the public url's host (want %s)", did, want)
	}
	return &ServiceIdentity{DID: d, PublicURL: origin}, nil
}

// didDocument is the did:web document of the service.
type didDocument struct {
	Context []string     `json:"@context"`
	ID      string       `json:"id"`
	Service []didService `json:"service"`
}

type didService struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	ServiceEndpoint string `json:"serviceEndpoint"`
}

// AppViewServiceID is the fragment of the appview's service entry; a
// client proxying to it names did#relay_appview (atproto-proxy header).
const AppViewServiceID = "#relay_appview"

func (s *Server) handleDIDDocument(w http.ResponseWriter, r *http.Request) {
	if s.identity == nil {
		writeJSON(w, http.StatusNotFound, &xrpcError{Name: "NotFound", Message: "this service has no did:web identity: start it with --service-did and --public-url"})
		return
	}
	writeJSON(w, http.StatusOK, didDocument{
		Context: []string{"https://www.w3.org/ns/did/v1"},
		ID:      s.identity.DID.String(),
		Service: []didService{{ID: AppViewServiceID, Type: "RelayAppView", ServiceEndpoint: s.identity.PublicURL}},
	})
}

// CORS preflight on /xrpc/: what browsers ask before a cross-origin query
// with ATProto's headers.
const (
	corsAllowMethods = "GET, POST, OPTIONS"
	corsAllowHeaders = "Authorization, Content-Type, Accept, Accept-Language, atproto-accept-labelers, atproto-proxy"
	corsMaxAge       = "86400"
)

func writePreflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}
