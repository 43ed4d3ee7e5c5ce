// Package cli tests the Kafka command-line tools built into the caudal
// binary (topics, console-producer, console-consumer, consumer-groups,
// configs, acls) as real subprocesses against `caudal dev`, some with TLS,
// SASL and ACLs on.
package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// result is what a finished command printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// server is a caudal dev subprocess and the flag that points tools at it.
type server struct {
	bin       string
	bootstrap string
}

func startServer(t *testing.T) server {
	t.Helper()
	p := testenv.StartDev(t)
	return server{bin: testenv.CaudalBinary(t), bootstrap: p.Addr}
}

// tool runs `caudal <tool> --bootstrap-server … args` with stdin.
func (s server) tool(t *testing.T, stdin, tool string, args ...string) result {
	t.Helper()
	return runBin(t, s.bin, stdin, append([]string{tool, "--bootstrap-server", s.bootstrap}, args...)...)
}

// ok runs a tool and fails the test unless it exits 0.
func (s server) ok(t *testing.T, stdin, tool string, args ...string) result {
	t.Helper()
	r := s.tool(t, stdin, tool, args...)
	if r.code != 0 {
		t.Fatalf("caudal %s %s: %v", tool, strings.Join(args, " "), r)
	}
	return r
}

// runBin runs bin with args to completion (at most a minute).
func runBin(t *testing.T, bin, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return r
}

// wantFail checks a failed command: its exit code and a line of stderr.
func wantFail(t *testing.T, r result, code int, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("want exit %d and stderr containing %q, got %v", code, stderr, r)
	}
}
