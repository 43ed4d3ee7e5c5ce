package testenv

import (
	"path/filepath"
	"testing"
)

// StartDevWith runs `caudal dev` as StartDev does, with env (NAME=value
// items) added to the process's environment, for settings that are
// secrets and so never flags, such as CAUDAL_SASL_ADMIN_PASSWORD, and
// with the flags that flags(addr) returns instead of --kafka-listen:
// --listeners replaces it, and one of the listeners must be on addr, the
// address the start waits for and Process.Addr reports.
func StartDevWith(t testing.TB, env []string, flags func(addr string) []string) *Process {
	t.Helper()
	p := &Process{Addr: FreeAddr(t), log: filepath.Join(t.TempDir(), "caudal.log")}
	if len(env) > 0 {
		// env(1) sets the variables and execs caudal in its own place, so
		// the process that Kill and Terminate signal is caudal itself.
		p.wrap = append([]string{"env"}, env...)
	}
	p.args = append([]string{"dev", "--data-dir", t.TempDir(), "--http-listen", ""}, flags(p.Addr)...)
	p.Start(t)
	t.Cleanup(p.Kill)
	return p
}
