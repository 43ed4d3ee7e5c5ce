package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// kafkajs 2.2.4 runs kafkajs/compat.js with node; test/setup.sh installs
// the pinned package (npm ci) into kafkajs/node_modules.
func init() { register(scriptClient("kafkajs", runNode)) }

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
