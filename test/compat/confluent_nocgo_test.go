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
		name:        "confluent-kafka-go",
		createTopic: func(t *testing.T, ctx context.Context, e env) { noCgo(t) },
		// The security runs skip createTopic.
		produce: func(t *testing.T, ctx context.Context, e env, recs []record) { noCgo(t) },
		consume: func(t *testing.T, ctx context.Context, e env, want int) []record { noCgo(t); return nil },
	})
}

func noCgo(t *testing.T) {
	t.Fatal("confluent-kafka-go needs cgo: build with CGO_ENABLED=1 and a C compiler (gcc)")
}
