package objstore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Retry policy for transient S3 errors (5xx, throttling, connection
// failures): up to s3MaxAttempts attempts with jittered exponential backoff
// capped at s3MaxBackoff. The SDK's retry quota stays on, so a store that is
// down stops being retried at full rate by every request.
const (
	s3MaxAttempts = 5
	s3MaxBackoff  = 2 * time.Second
	// Enough idle connections for many PUTs and GETs in flight at once.
	s3MaxIdleConnsPerHost = 64
)

// s3Bucket stores objects under prefix in one S3 (or S3-compatible) bucket.
type s3Bucket struct {
	client    *s3.Client
	transport *http.Transport
	bucket    string
	prefix    string // "" or ends with '/'
}

// s3Options are settings that do not come from the URL.
type s3Options struct {
	// creds, if set, replaces the default credential chain (tests).
	creds aws.CredentialsProvider
}

// openS3 opens s3://BUCKET/PREFIX?endpoint=URL&region=REGION. PREFIX, if
// any, is taken as a directory: "s3://b/p" stores key k as "p/k".
func openS3(ctx context.Context, u *url.URL, opt s3Options) (*s3Bucket, error) {
	bucket := u.Host
	if bucket == "" {
		return nil, fmt.Errorf("bucket URL %s: no bucket name (want s3://BUCKET/PREFIX)", u.Redacted())
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("bucket URL %s: prefix: %w", u.Redacted(), err)
		}
		prefix += "/"
	}
	q := u.Query()
	var endpoint, region string
	plain := false // HTTP, not HTTPS, to the store
	for name, vals := range q {
		if len(vals) != 1 {
			return nil, fmt.Errorf("bucket URL %s: parameter %q given %d times", u.Redacted(), name, len(vals))
		}
		switch name {
		case "endpoint":
			endpoint = vals[0]
			e, err := url.Parse(endpoint)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return nil, fmt.Errorf("bucket URL %s: endpoint %q is not an http:// or https:// URL", u.Redacted(), endpoint)
			}
			plain = e.Scheme == "http"
		case "region":
			region = vals[0]
		default:
			return nil, fmt.Errorf("bucket URL %s: unknown parameter %q (want endpoint, region)", u.Redacted(), name)
		}
	}

	// The SDK's transport defaults, with more idle connections per host.
	// (The SDK adds AWS_CA_BUNDLE's roots to it; see below.)
	buildable := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second }).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = 4 * s3MaxIdleConnsPerHost
			t.MaxIdleConnsPerHost = s3MaxIdleConnsPerHost
			t.ResponseHeaderTimeout = time.Minute
			// Reads through this buffer must stay under lowatMin, which
			// marks only the reads that a body's length promises (lowat.go).
			t.ReadBufferSize = 4 << 10
			t.DialContext = vectorDial(t.DialContext, plain)
		})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(buildable),
		config.WithDefaultRegion("us-east-1"),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = s3MaxAttempts
				o.MaxBackoff = s3MaxBackoff
			})
		}),
		// MinIO and other S3-compatible stores reject or mishandle the
		// SDK's default CRC trailers on aws-chunked bodies.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if endpoint != "" || os.Getenv("AWS_ACCESS_KEY_ID") != "" {
		// No EC2 instance role behind a custom endpoint; with static keys in
		// the environment the chain never gets that far. Either way, skip
		// the instance metadata service and its slow timeouts.
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	if opt.creds != nil {
		opts = append(opts, config.WithCredentialsProvider(opt.creds))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket URL %s: load AWS configuration: %w", u.Redacted(), err)
	}
	// Use the configured transport in a client of our own, so that Close
	// can close its idle connections.
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		buildable = bc
	}
	transport := buildable.GetTransport()
	cfg.HTTPClient = vectorClient{&http.Client{
		Transport: transport,
		// S3 redirects (wrong region) are errors to report, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &s3Bucket{client: client, transport: transport, bucket: bucket, prefix: prefix}, nil
}

// key validates key and returns the full S3 key.
func (b *s3Bucket) key(ctx context.Context, op Op, key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", OpError(op, key, err)
	}
	full := b.prefix + key
	if len(full) > maxKeyLen {
		return "", OpError(op, key, fmt.Errorf("with prefix %q longer than %d bytes: %w", b.prefix, maxKeyLen, ErrInvalidKey))
	}
	if err := contextError(ctx); err != nil {
		return "", OpError(op, key, err)
	}
	return full, nil
}

// s3Error classifies an error of the SDK (after its retries) by error code,
// HTTP status or error type, wrapping one of the package's error classes
// together with the original error. Errors it cannot classify (a missing
// bucket, a malformed request) are returned as they are, and so is a
// cancellation.
func s3Error(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if class := s3Class(err); class != nil {
		return fmt.Errorf("%w: %w", class, err)
	}
	return err
}

func s3Class(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrUnavailable
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if class, ok := s3ErrorCodes[apiErr.ErrorCode()]; ok {
			return class
		}
	}
	// Failures to send carry a response error with status 0.
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch code := status.HTTPStatusCode(); {
		case code == http.StatusNotFound:
			return ErrNotFound
		case code == http.StatusRequestedRangeNotSatisfiable:
			return ErrRange
		case code == http.StatusForbidden || code == http.StatusUnauthorized:
			return ErrDenied
		case code >= 500, code == http.StatusTooManyRequests, code == http.StatusRequestTimeout:
			return ErrUnavailable
		}
	}
	var netErr net.Error
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return ErrUnavailable
	}
	return nil
}

// s3ErrorCodes maps S3 error codes to the package's error classes.
var s3ErrorCodes = map[string]error{
	"NoSuchKey":                  ErrNotFound,
	"NotFound":                   ErrNotFound,
	"InvalidRange":               ErrRange,
	"AccessDenied":               ErrDenied,
	"InvalidAccessKeyId":         ErrDenied,
	"SignatureDoesNotMatch":      ErrDenied,
	"ExpiredToken":               ErrDenied,
	"InvalidToken":               ErrDenied,
	"AllAccessDisabled":          ErrDenied,
	"AccountProblem":             ErrDenied,
	"SlowDown":                   ErrUnavailable,
	"Throttling":                 ErrUnavailable,
	"ThrottlingException":        ErrUnavailable,
	"RequestTimeout":             ErrUnavailable,
	"ServiceUnavailable":         ErrUnavailable,
	"InternalError":              ErrUnavailable,
	"XMinioServerNotInitialized": ErrUnavailable,
	// A missing bucket is a configuration error, not a missing object.
	"NoSuchBucket": nil,
}

// Put sends the object with its CRC-32C in x-amz-checksum-crc32c and an
// unsigned payload. Signing the payload would cost a SHA-256 pass over
// every object (a quarter of a gateway's produce CPU); the checksum header
// keeps the bytes' integrity end to end at a fraction of that, because the
// store recomputes it and refuses a mismatch (S3's BadDigest).
func (b *s3Bucket) Put(ctx context.Context, key string, data []byte) error {
	return b.putParts(ctx, key, [][]byte{data}, crc32.Checksum(data, castagnoli))
}

func (b *s3Bucket) putParts(ctx context.Context, key string, parts [][]byte, crc uint32) error {
	return b.put(ctx, key, parts, base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc)))
}

// put sends parts with crc, a base64 CRC-32C, for the store to check.
func (b *s3Bucket) put(ctx context.Context, key string, parts [][]byte, crc string) error {
	full, err := b.key(ctx, OpPut, key)
	if err != nil {
		return err
	}
	body := newPartsReader(parts)
	_, err = b.client.PutObject(withParts(ctx, body), &s3.PutObjectInput{
		Bucket:         &b.bucket,
		Key:            &full,
		Body:           body,
		ContentLength:  aws.Int64(int64(partsLen(parts))),
		ChecksumCRC32C: aws.String(crc),
	}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		return OpError(OpPut, key, s3Error(err))
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (b *s3Bucket) Get(ctx context.Context, key string, buf []byte) ([]byte, error) {
	full, err := b.key(ctx, OpGet, key)
	if err != nil {
		return nil, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &full})
	if err != nil {
		return nil, OpError(OpGet, key, s3Error(err))
	}
	data, err := readBody(out.Body, out.ContentLength, buf)
	if err != nil {
		return nil, OpError(OpGet, key, s3Error(err))
	}
	return data, nil
}

// readBody reads and closes a response body of n bytes (if known), into
// buf if it has room.
func readBody(body io.ReadCloser, n *int64, buf []byte) ([]byte, error) {
	defer body.Close()
	if n == nil || *n < 0 {
		return io.ReadAll(body)
	}
	return readFull(body, *n, buf)
}

func (b *s3Bucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	full, err := b.key(ctx, OpGetRange, key)
	if err != nil {
		return nil, err
	}
	if off < 0 || length < 0 {
		return nil, OpError(OpGetRange, key, checkRange(off, length, 0))
	}
	if length == 0 { // HTTP cannot ask for no bytes; check the bounds instead
		a, err := b.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if err := checkRange(off, 0, a.Size); err != nil {
			return nil, OpError(OpGetRange, key, err)
		}
		return []byte{}, nil
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: &b.bucket,
		Key:    &full,
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1)),
	})
	if err != nil {
		// 416 when off is at or past the end.
		return nil, OpError(OpGetRange, key, s3Error(err))
	}
	if out.ContentRange == nil {
		// The server sent the whole object (it ignored the Range header).
		data, err := readBody(out.Body, out.ContentLength, nil)
		if err != nil {
			return nil, OpError(OpGetRange, key, s3Error(err))
		}
		if err := checkRange(off, length, int64(len(data))); err != nil {
			return nil, OpError(OpGetRange, key, err)
		}
		return data[off : off+length], nil
	}
	if out.ContentLength == nil || *out.ContentLength != length {
		// S3 shortens a range that runs past the end rather than failing.
		out.Body.Close()
		return nil, OpError(OpGetRange, key, fmt.Errorf("%w: %d bytes at offset %d, object has range %s",
			ErrRange, length, off, aws.ToString(out.ContentRange)))
	}
	data, err := readBody(out.Body, out.ContentLength, nil)
	if err != nil {
		return nil, OpError(OpGetRange, key, s3Error(err))
	}
	return data, nil
}

func (b *s3Bucket) Stat(ctx context.Context, key string) (Attrs, error) {
	full, err := b.key(ctx, OpStat, key)
	if err != nil {
		return Attrs{}, err
	}
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &full})
	if err != nil {
		return Attrs{}, OpError(OpStat, key, s3Error(err))
	}
	return Attrs{Key: key, Size: aws.ToInt64(out.ContentLength), LastModified: aws.ToTime(out.LastModified)}, nil
}

func (b *s3Bucket) Delete(ctx context.Context, key string) error {
	full, err := b.key(ctx, OpDelete, key)
	if err != nil {
		return err
	}
	_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &full})
	if err != nil {
		err = s3Error(err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return OpError(OpDelete, key, err)
	}
	return nil
}

func (b *s3Bucket) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	if err := contextError(ctx); err != nil {
		return OpError(OpList, prefix, err)
	}
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: &b.bucket,
		Prefix: aws.String(b.prefix + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return OpError(OpList, prefix, s3Error(err))
		}
		for _, o := range page.Contents {
			a := Attrs{
				Key:          strings.TrimPrefix(aws.ToString(o.Key), b.prefix),
				Size:         aws.ToInt64(o.Size),
				LastModified: aws.ToTime(o.LastModified),
			}
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *s3Bucket) Close() error {
	b.transport.CloseIdleConnections()
	return nil
}
