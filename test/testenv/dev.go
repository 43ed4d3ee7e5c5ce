package testenv

import (
	"path/filepath"
	"testing"
)

// StartDev runs `caudal dev` as a child process on a fresh data directory
// and a free loopback port, plus extra flags; it is killed when the test
// ends.
func StartDev(t testing.TB, extra ...string) *Process {
	t.Helper()
	return StartDevUnder(t, nil, extra...)
}

// StartDevUnder is StartDev with the binary run by wrap, e.g.
// {"prlimit", "--nofile=256:256"}.
func StartDevUnder(t testing.TB, wrap []string, extra ...string) *Process {
	t.Helper()
	p := &Process{Addr: FreeAddr(t), wrap: wrap, log: filepath.Join(t.TempDir(), "caudal.log")}
	p.args = append([]string{"dev", "--data-dir", t.TempDir(), "--kafka-listen", p.Addr, "--http-listen", ""}, extra...)
	p.Start(t)
	t.Cleanup(p.Kill)
	return p
}
