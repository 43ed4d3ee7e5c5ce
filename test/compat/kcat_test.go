package compat

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// kcat (librdkafka) has no admin commands: the test creates the topic
// with kadm. Its balanced consumer (-G) cannot commit by hand; it stores
// each offset once it has printed the message and librdkafka's auto
// commit sends the stored offsets (every 100 ms here, and on close).
func init() {
	register(client{
		name:       "kcat",
		produce:    kcatProduce,
		consume:    kcatConsume,
		idempotent: true,
	})
}

func kcatProduce(t *testing.T, ctx context.Context, e env, recs []record) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatalf("kcat is not installed (make setup installs it): %v", err)
	}
	args := append([]string{"-b", e.Addr, "-t", e.Topic, "-P", "-K:",
		"-X", "enable.idempotence=true", "-X", "acks=all"}, kcatSecurity(t, e)...)
	runLines(t, ctx, keyedLines(recs), "kcat", args...)
}

// want is not passed: kcat -e stops at the end of the partitions.
func kcatConsume(t *testing.T, ctx context.Context, e env, want int) []record {
	// -e: exit once every assigned partition is at its end; the
	// consumer's close commits the stored offsets.
	args := append([]string{"-b", e.Addr, "-G", e.Group, e.Topic, "-e", "-q",
		"-X", "auto.offset.reset=earliest",
		"-X", "enable.auto.commit=true", "-X", "auto.commit.interval.ms=100",
		"-f", "%p %o %k %s\n"}, kcatSecurity(t, e)...)
	return parseRecords(t, runLines(t, ctx, "", "kcat", args...))
}

// kcatSecurity is -F with a file of the TLS listener's librdkafka
// properties (a file keeps the password off the command line), or
// nothing on PLAINTEXT.
func kcatSecurity(t *testing.T, e env) []string {
	if e.Sec == nil {
		return nil
	}
	var props strings.Builder
	for k, v := range e.Sec.rdkafka() {
		fmt.Fprintf(&props, "%s=%s\n", k, v)
	}
	return []string{"-F", writeSecret(t, "kcat.conf", props.String())}
}
