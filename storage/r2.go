package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// R2Config configures an R2 store. Its String, GoString and LogValue
// redact the credentials, so a logged config leaks nothing.
type R2Config struct {
	// AccountID is the Cloudflare account: the endpoint is
	// https://{AccountID}.r2.cloudflarestorage.com unless Endpoint is set.
	AccountID string
	Bucket    string
	// AccessKeyID and SecretAccessKey are an R2 API token's S3 credentials.
	AccessKeyID     string
	SecretAccessKey string
	// PublicURL is the bucket's public origin (a custom domain or r2.dev):
	// records name {PublicURL}/{key}. Needed unless SignedURLs.
	PublicURL string
	// SignedURLs keeps the bucket private: records name
	// {ServiceURL}/{key}, which Handler redirects to a GET presigned for
	// URLTTL (default 1h, at most 7 days: SigV4's limit).
	SignedURLs bool
	URLTTL     time.Duration
	// ServiceURL is this service's public origin, where Handler is
	// mounted. Needed with SignedURLs.
	ServiceURL string
	// Endpoint replaces the account endpoint (tests: a local S3 server).
	Endpoint string
}

const (
	defaultURLTTL = time.Hour
	maxURLTTL     = 7 * 24 * time.Hour
)

// redact keeps the last 4 characters of an access key id (enough to tell
// which token) and nothing of a secret.
func redact(s string, keep int) string {
	switch {
	case s == "":
		return ""
	case len(s) <= 2*keep:
		return "[redacted]"
	default:
		return "[redacted]" + s[len(s)-keep:]
	}
}

// String implements fmt.Stringer, credentials redacted.
func (c R2Config) String() string {
	return fmt.Sprintf("r2{account=%s bucket=%s access_key_id=%s secret_access_key=%s public_url=%s signed_urls=%t url_ttl=%s service_url=%s endpoint=%s}",
		c.AccountID, c.Bucket, redact(c.AccessKeyID, 4), redact(c.SecretAccessKey, 0), c.PublicURL, c.SignedURLs, c.URLTTL, c.ServiceURL, c.Endpoint)
}

// GoString implements fmt.GoStringer (%#v), credentials redacted.
func (c R2Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer, credentials redacted.
func (c R2Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account", c.AccountID),
		slog.String("bucket", c.Bucket),
		slog.String("access_key_id", redact(c.AccessKeyID, 4)),
		slog.String("secret_access_key", redact(c.SecretAccessKey, 0)),
		slog.String("public_url", c.PublicURL),
		slog.Bool("signed_urls", c.SignedURLs),
		slog.Duration("url_ttl", c.URLTTL),
		slog.String("service_url", c.ServiceURL),
		slog.String("endpoint", c.Endpoint),
	)
}

var (
	accountIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)
	// S3's bucket name rules, as R2 applies them.
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
)

// R2 is a Store in a Cloudflare R2 bucket, through the S3 API.
type R2 struct {
	cfg     R2Config
	client  *s3.Client
	presign *s3.PresignClient
	// base is what URL puts before a key.
	base string
}

var _ Store = (*R2)(nil)

// NewR2 checks cfg and the bucket (one HeadBucket, so bad credentials or a
// wrong bucket fail at start, not at the first upload).
func NewR2(ctx context.Context, cfg R2Config) (*R2, error) {
	if cfg.Endpoint == "" {
		if !accountIDPattern.MatchString(cfg.AccountID) {
			return nil, errors.New("r2: account id is required (letters and digits)")
		}
		cfg.Endpoint = "https://" + cfg.AccountID + ".r2.cloudflarestorage.com"
	} else if _, err := parseBase(cfg.Endpoint); err != nil {
		return nil, fmt.Errorf("r2 endpoint: %w", err)
	}
	if !bucketPattern.MatchString(cfg.Bucket) {
		return nil, fmt.Errorf("r2: bucket %q is not a valid bucket name", cfg.Bucket)
	}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("r2: access key id and secret access key are required")
	}
	r := &R2{cfg: cfg}
	if cfg.SignedURLs {
		if cfg.URLTTL == 0 {
			cfg.URLTTL = defaultURLTTL
		}
		if cfg.URLTTL < time.Second || cfg.URLTTL > maxURLTTL {
			return nil, fmt.Errorf("r2: url ttl %s: want 1s to %s", cfg.URLTTL, maxURLTTL)
		}
		base, err := parseBase(cfg.ServiceURL)
		if err != nil {
			return nil, fmt.Errorf("r2 with signed urls: the service's url: %w", err)
		}
		r.base = base
	} else {
		base, err := parseBase(cfg.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("r2 without signed urls needs the bucket's public url: %w", err)
		}
		r.base = base
	}
	r.cfg = cfg
	r.client = s3.New(s3.Options{
		Region:       "auto",
		BaseEndpoint: aws.String(cfg.Endpoint),
		// R2 documents path-style requests: {endpoint}/{bucket}/{key}.
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		// R2 does not take every checksum the SDK sends by default.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	r.presign = s3.NewPresignClient(r.client, s3.WithPresignExpires(cfg.URLTTL))
	if _, err := r.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		return nil, fmt.Errorf("r2: bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	return r, nil
}

// Put implements Store in one PutObject, streamed: the body is r itself
// with its length announced, never buffered. Its SigV4 payload hash is the
// key's sha256, so the server refuses content that is not the key's (and a
// body cut short), over http as over https, and a refused PUT stores
// nothing.
func (r *R2) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	k, err := checkPut(key, size, contentType)
	if err != nil {
		return err
	}
	if ok, err := r.Exists(ctx, key); err != nil || ok {
		return err
	}
	er := newExactReader(ctx, body, size)
	in := &s3.PutObjectInput{
		Bucket:        aws.String(r.cfg.Bucket),
		Key:           aws.String(k.String()),
		Body:          er,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(k.ContentType()),
		CacheControl:  aws.String("public, max-age=31536000, immutable"),
	}
	opts := []func(*s3.Options){s3.WithAPIOptions(signPayloadAs(k.SHA256()))}
	if rw, ok := newRewindable(er, body); ok {
		// A file can be read again: the SDK may retry.
		in.Body = rw
	} else {
		// A stream cannot: one attempt, so its error is the cause rather
		// than the SDK's "request stream is not seekable".
		opts = append(opts, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	}
	_, err = r.client.PutObject(ctx, in, opts...)
	if err != nil {
		return fmt.Errorf("r2: storing %s: %w", k, err)
	}
	// The server checked the hash too; this names the caller's mistake.
	if err := er.verify(k); err != nil {
		return err
	}
	return nil
}

// rewindable is an exactReader over a seeker, which the SDK measures (to
// the end and back) and rewinds to retry: only to where the body started
// or its end, the count and hash starting over at the start.
type rewindable struct {
	*exactReader
	seeker      io.Seeker
	start, size int64
}

// newRewindable is er made rewindable, if body is a seeker that can tell
// where it stands.
func newRewindable(er *exactReader, body io.Reader) (*rewindable, bool) {
	seeker, ok := body.(io.Seeker)
	if !ok {
		return nil, false
	}
	start, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, false
	}
	return &rewindable{exactReader: er, seeker: seeker, start: start, size: er.left}, true
}

func (w *rewindable) Seek(offset int64, whence int) (int64, error) {
	switch {
	case whence == io.SeekCurrent && offset == 0:
		return w.size - w.left, nil
	case whence == io.SeekEnd && offset == 0:
		// The SDK measures the body so, then seeks back to the start.
		if _, err := w.seeker.Seek(w.start+w.size, io.SeekStart); err != nil {
			return 0, err
		}
		w.left = 0
		return w.size, nil
	case whence == io.SeekStart && offset == 0:
		if _, err := w.seeker.Seek(w.start, io.SeekStart); err != nil {
			return 0, err
		}
		w.left = w.size
		w.h.Reset()
		return 0, nil
	}
	return 0, fmt.Errorf("r2 body: seek to %d from %d not supported", offset, whence)
}

// signPayloadAs signs a request with payload hash sum (hex) instead of
// reading the body to compute it, which needs a seekable body over http.
func signPayloadAs(sum string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("relayPayloadHash",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				return next.HandleFinalize(v4.SetPayloadHash(ctx, sum), in)
			}), "ComputePayloadHash", middleware.Before)
	}
}

// Delete implements Store (S3 deletes of a missing key succeed).
func (r *R2) Delete(ctx context.Context, key string) error {
	k, err := ParseKey(key)
	if err != nil {
		return err
	}
	if _, err := r.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(r.cfg.Bucket), Key: aws.String(k.String())}); err != nil {
		return fmt.Errorf("r2: deleting %s: %w", k, err)
	}
	return nil
}

// Exists implements Store.
func (r *R2) Exists(ctx context.Context, key string) (bool, error) {
	k, err := ParseKey(key)
	if err != nil {
		return false, err
	}
	_, err = r.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.cfg.Bucket), Key: aws.String(k.String())})
	if err == nil {
		return true, nil
	}
	var notFound *types.NotFound
	var apiErr smithy.APIError
	if errors.As(err, &notFound) || (errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotFound") {
		return false, nil
	}
	return false, fmt.Errorf("r2: checking %s: %w", k, err)
}

// URL implements Store: {ServiceURL}/{key} with signed URLs,
// {PublicURL}/{key} otherwise.
func (r *R2) URL(key string) string { return keyURL(r.base, key) }

// SignedURL is a GET of key presigned for the configured TTL.
func (r *R2) SignedURL(ctx context.Context, key string) (string, error) {
	k, err := ParseKey(key)
	if err != nil {
		return "", err
	}
	req, err := r.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.cfg.Bucket), Key: aws.String(k.String())})
	if err != nil {
		return "", fmt.Errorf("r2: presigning %s: %w", k, err)
	}
	return req.URL, nil
}

// Handler serves GET and HEAD /audio/{name} and /art/{name} with signed
// URLs: a 302 to a freshly presigned GET, cached at most half its life so
// no cache holds an expired one. Without signed URLs the public bucket
// serves, and every path here is 404.
func (r *R2) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		k, err := requestKey(req)
		if err != nil || !r.cfg.SignedURLs {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		signed, err := r.SignedURL(req.Context(), k.String())
		if err != nil {
			slog.ErrorContext(req.Context(), "media presign failed", "key", k.String(), "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if _, err := url.Parse(signed); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "private, max-age="+strconv.Itoa(int(r.cfg.URLTTL/time.Second/2)))
		w.Header().Set("Location", signed)
		w.WriteHeader(http.StatusFound)
	})
}
