package compat

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// kafkajs 2.2.4 runs kafkajs/compat.js with node; test/setup.sh installs
// the pinned package (npm ci) into kafkajs/node_modules.
func init() {
	register(client{
		name:       "kafkajs",
		idempotent: true,
		createTopic: func(t *testing.T, ctx context.Context, e env) {
			runNode(t, ctx, "", "create", e.Addr, e.Topic, strconv.Itoa(partitions))
		},
		produce: func(t *testing.T, ctx context.Context, e env, recs []record) {
			var in strings.Builder
			for _, r := range recs {
				fmt.Fprintf(&in, "%s:%s\n", r.Key, r.Value)
			}
			runNode(t, ctx, in.String(), "produce", e.Addr, e.Topic)
		},
		consume: func(t *testing.T, ctx context.Context, e env, want int) []record {
			return parseRecords(t, runNode(t, ctx, "", "consume", e.Addr, e.Topic, e.Group, strconv.Itoa(want)))
		},
	})
}

func runNode(t *testing.T, ctx context.Context, stdin string, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: %v", err)
	}
	dir, err := filepath.Abs("kafkajs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "kafkajs", "package.json")); err != nil {
		t.Fatalf("kafkajs is not installed in %s (make setup runs npm ci there): %v", dir, err)
	}
	return runLines(t, ctx, stdin, "node", append([]string{filepath.Join(dir, "compat.js")}, args...)...)
}
