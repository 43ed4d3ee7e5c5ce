// Package testenv starts the real servers that caudal's tests run against
// (MinIO, PostgreSQL), once per test process, and stops them when the
// process's tests are done. A package that uses it calls Run from TestMain.
//
// A server that cannot be started fails the test with the reason; nothing is
// skipped silently. `make test` installs what the servers need first.
package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// Run runs the package's tests and then stops every server started for them.
// Use it as: func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }.
func Run(m *testing.M) int {
	code := m.Run()
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
	return code
}

// atExit registers fn to run after all of the process's tests.
func atExit(fn func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, fn)
}

// CacheDir is where `make test` keeps built tools between runs.
func CacheDir() string {
	if d := os.Getenv("CAUDAL_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "caudal-cache")
	}
	return filepath.Join(home, ".cache", "caudal")
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// lastBytes returns the end of s, at most n bytes of it.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// waitTCP waits until something accepts connections on addr.
func waitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s: %w", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Tail is the last n bytes of s, marked as cut when it was: enough of a
// log or an output to explain a failure.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
