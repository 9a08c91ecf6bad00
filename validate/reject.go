package validate

import "fmt"

// Reasons a record is rejected, as counted in relay_ingest_rejected_total
// and relay_backfill_rejected_total {reason}. The event-level reasons
// (a bad DID, rev or operation) belong to the wire that carries the record:
// see the indexer.
const (
	ReasonBadRKey       = "bad_rkey"
	ReasonMissingBody   = "missing_body"
	ReasonTooLarge      = "record_too_large"
	ReasonTooDeep       = "record_too_deep"
	ReasonInvalidUTF8   = "invalid_utf8"
	ReasonInvalidRecord = "invalid_record"
	ReasonInsecureURL   = "insecure_audio_url"
)

// Reasons lists every reason Track can give, so a consumer can create each
// metric series before the first rejection (a dashboard can tell zero from
// missing).
var Reasons = []string{
	ReasonBadRKey, ReasonMissingBody, ReasonTooLarge, ReasonTooDeep,
	ReasonInvalidUTF8, ReasonInvalidRecord, ReasonInsecureURL,
}

// RejectError is network input that cannot be applied. It names the reason
// (a metric label) and the at-uri or DID it concerns, never the record body:
// the body is untrusted and may be large.
type RejectError struct {
	Reason string
	// Subject is the at-uri of the record, or the DID for account-level events.
	Subject string
	Err     error
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("rejected %s (%s): %v", e.Subject, e.Reason, e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }

// Reject is a RejectError for reason and subject.
func Reject(reason, subject string, err error) *RejectError {
	return &RejectError{Reason: reason, Subject: subject, Err: err}
}
