package objstore

import (
	"context"
	"fmt"
	"net/url"
)

// Open opens the bucket that rawURL names:
//
//   - s3://BUCKET/PREFIX?endpoint=http://127.0.0.1:9000&region=us-east-1 —
//     S3 or an S3-compatible store (path-style addressing). PREFIX is
//     optional and taken as a directory ("s3://b/p" stores key k as "p/k").
//     Without endpoint, AWS S3 itself; without region, AWS_REGION or
//     us-east-1. Credentials come from the usual AWS_* variables (or the
//     rest of the SDK's default chain). Transient failures are retried.
//   - file:///DIR — a local directory, created if missing; file://./DIR and
//     file:DIR name a directory relative to the working directory.
//
// Open does not contact the store: a wrong endpoint or bucket shows up as
// the first operation's error.
func Open(ctx context.Context, rawURL string) (Bucket, error) {
	return open(ctx, rawURL, s3Options{})
}

func open(ctx context.Context, rawURL string, opt s3Options) (Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bucket URL: %w", err)
	}
	switch u.Scheme {
	case "s3":
		if u.Opaque != "" {
			return nil, fmt.Errorf("bucket URL %s: want s3://BUCKET/PREFIX", u.Redacted())
		}
		return openS3(ctx, u, opt)
	case "file":
		dir, err := fileDir(u)
		if err != nil {
			return nil, err
		}
		return openFile(dir)
	case "":
		return nil, fmt.Errorf("bucket URL %q: no scheme (want s3://BUCKET/PREFIX or file:///DIR)", rawURL)
	default:
		return nil, fmt.Errorf("bucket URL %s: unsupported scheme %q (want s3:// or file://)", u.Redacted(), u.Scheme)
	}
}

// fileDir returns the directory a file: URL names.
func fileDir(u *url.URL) (string, error) {
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("bucket URL %s: file URLs take no parameters", u.Redacted())
	}
	var dir string
	switch {
	case u.Opaque != "": // file:relative/dir
		dir = u.Opaque
	case u.Host == "" || u.Host == "localhost":
		dir = u.Path
	case u.Host == "." || u.Host == "..": // file://./relative/dir
		dir = u.Host + u.Path
	default:
		return "", fmt.Errorf("bucket URL %s: file URLs name a local directory (file:///DIR), not host %q", u.Redacted(), u.Host)
	}
	if dir == "" {
		return "", fmt.Errorf("bucket URL %s: no directory (want file:///DIR)", u.Redacted())
	}
	return dir, nil
}
