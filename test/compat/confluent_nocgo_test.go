//go:build !cgo

package compat

import (
	"context"
	"testing"
)

// Without cgo confluent-kafka-go (librdkafka) cannot be built; its column
// fails rather than vanishing from the matrix.
func init() {
	register(client{
		name: "confluent-kafka-go",
		createTopic: func(t *testing.T, ctx context.Context, e env) {
			t.Fatal("confluent-kafka-go needs cgo: build with CGO_ENABLED=1 and a C compiler (gcc)")
		},
	})
}
