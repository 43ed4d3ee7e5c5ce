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

// PutWithChecksum puts data into an s3:// bucket declaring crc (base64
// CRC-32C) as its checksum, so a test can show that the store checks it.
func PutWithChecksum(ctx context.Context, b Bucket, key string, data []byte, crc string) error {
	return b.(*s3Bucket).put(ctx, key, [][]byte{data}, crc)
}
