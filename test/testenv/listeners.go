package testenv

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartDevListeners runs `caudal dev` as StartDev does, but with Kafka's
// --listeners: PLAINTEXT on the address Process.Addr names and each
// listener in names (a protocol's name, e.g. SASL_SSL) on a free loopback
// port of its own; extra carries the TLS, SASL and authorizer flags those
// need. It returns each listener's address by name, PLAINTEXT's included,
// once every one of them accepts connections.
func StartDevListeners(t testing.TB, names []string, extra ...string) (*Process, map[string]string) {
	t.Helper()
	p := &Process{Addr: FreeAddr(t), log: filepath.Join(t.TempDir(), "caudal.log")}
	addrs := map[string]string{"PLAINTEXT": p.Addr}
	spec := []string{"PLAINTEXT://" + p.Addr}
	for _, n := range names {
		addrs[n] = FreeAddr(t)
		spec = append(spec, n+"://"+addrs[n])
	}
	p.args = append([]string{"dev", "--data-dir", t.TempDir(), "--listeners", strings.Join(spec, ","), "--http-listen", ""}, extra...)
	p.Start(t) // waits for PLAINTEXT, the first listener bound
	t.Cleanup(p.Kill)
	// The others are bound just after it: wait for them too, so that a
	// client's first dial is not refused.
	for _, n := range names {
		if err := waitTCP(addrs[n], 10*time.Second); err != nil {
			t.Fatalf("caudal listener %s: %v\n%s", n, err, lastBytes(p.Log(), 2000))
		}
	}
	return p, addrs
}
