package objstore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// OpenWithStaticCredentials opens rawURL like Open but with the given keys
// instead of the default credential chain, so a test can use wrong keys
// without changing the process's environment under parallel tests.
func OpenWithStaticCredentials(ctx context.Context, rawURL, keyID, secret string) (Bucket, error) {
	return open(ctx, rawURL, s3Options{creds: credentials.NewStaticCredentialsProvider(keyID, secret, "")})
}
