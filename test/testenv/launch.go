package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// StartDev runs `caudal dev` as a child process on a fresh data directory
// and a free loopback port, plus extra flags; it is killed when the test
// ends.
func StartDev(t testing.TB, extra ...string) *Process {
	t.Helper()
	p, _ := StartDevUnder(t, nil, nil, extra...)
	return p
}

// StartDevListeners is StartDev with more listeners, as StartDevUnder
// starts them.
func StartDevListeners(t testing.TB, names []string, extra ...string) (*Process, map[string]string) {
	t.Helper()
	return StartDevUnder(t, nil, names, extra...)
}

// StartDevUnder runs `caudal dev` with the binary run by wrap (e.g.
// {"prlimit", "--nofile=256:256"}, or {"env", "NAME=value"} for a
// setting that is a secret and so never a flag) when it is not empty.
// Beside PLAINTEXT on Process.Addr it serves each listener in names (a
// protocol's name, e.g. SASL_SSL) on a free loopback port of its own;
// extra carries the TLS, SASL and authorizer flags those need. It returns
// each listener's address by name, PLAINTEXT's included, once every one
// of them accepts connections.
func StartDevUnder(t testing.TB, wrap, names []string, extra ...string) (*Process, map[string]string) {
	t.Helper()
	return launch(t, wrap, []string{"dev", "--data-dir", t.TempDir()}, names, extra)
}

// StartProcess runs `caudal gateway` (or dev when the URLs are empty) on
// the given stores at a free loopback address, plus extra flags.
func StartProcess(t testing.TB, bucketURL, metadataURL string, extra ...string) *Process {
	t.Helper()
	p, _ := StartProcessListeners(t, bucketURL, metadataURL, nil, extra...)
	return p
}

// StartProcessListeners is StartProcess with the listeners in names, as
// StartDevUnder starts them.
func StartProcessListeners(t testing.TB, bucketURL, metadataURL string, names []string, extra ...string) (*Process, map[string]string) {
	t.Helper()
	return launch(t, nil, []string{"gateway", "--bucket-url", bucketURL, "--metadata-url", metadataURL}, names, extra)
}

func launch(t testing.TB, wrap, command, names, extra []string) (*Process, map[string]string) {
	t.Helper()
	p := &Process{Addr: FreeAddr(t), wrap: wrap, log: filepath.Join(t.TempDir(), "caudal.log")}
	addrs := map[string]string{"PLAINTEXT": p.Addr}
	listen := []string{"--kafka-listen", p.Addr}
	if len(names) > 0 {
		spec := []string{"PLAINTEXT://" + p.Addr}
		for _, n := range names {
			addrs[n] = FreeAddr(t)
			spec = append(spec, n+"://"+addrs[n])
			p.listeners = append(p.listeners, addrs[n])
		}
		listen = []string{"--listeners", strings.Join(spec, ",")}
	}
	// Groups join at once, as before Kafka's 3 s initial rebalance delay
	// became the default, so that the suite does not wait it per group;
	// a test that wants the delay passes the flag in extra.
	p.args = append(append(append(command, listen...), "--http-listen", "", "--group-initial-rebalance-delay", "0"), extra...)
	p.Start(t)
	t.Cleanup(p.Kill)
	return p, addrs
}

// SASLPassword is the password of the admin user that SASLFlags and
// SecureFlags create.
const SASLPassword = "caudal-test-secret"

// SASLFlags are the flags of a SASL_PLAINTEXT listener with every
// mechanism enabled (OAUTHBEARER with the unsecured validator) and user
// admin, password SASLPassword.
func SASLFlags(t testing.TB) []string {
	t.Helper()
	return []string{
		"--sasl-enabled-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER",
		"--sasl-oauthbearer-unsecured",
		"--sasl-admin-user", "admin", "--sasl-admin-password-file", adminPasswordFile(t),
	}
}

// SecureFlags are the flags of a SASL_SSL listener: TLS with ca's
// certificate for "server", SCRAM-SHA-512 and -256, and Kafka ACLs with
// admin (password SASLPassword) as the super user.
func SecureFlags(t testing.TB, ca *CA) []string {
	t.Helper()
	cert, key := ca.Issue(t, "server")
	return []string{
		"--ssl-certificate-location", cert, "--ssl-key-location", key,
		"--sasl-enabled-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256",
		"--authorizer", "acl", "--super-users", "User:admin",
		"--sasl-admin-user", "admin", "--sasl-admin-password-file", adminPasswordFile(t),
	}
}

// adminPasswordFile holds SASLPassword: the password is never a flag.
func adminPasswordFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin-password")
	if err := os.WriteFile(path, []byte(SASLPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
