package testenv

import (
	"path/filepath"
	"testing"
)

// SASLPassword is the password of the admin user a SASL process is
// started with.
const SASLPassword = "caudal-test-secret"

// StartSASLDev runs `caudal dev` like StartDev, with a second listener,
// SASL_PLAINTEXT, whose address it returns: every mechanism is enabled
// (OAUTHBEARER with the unsecured validator) and user admin has password
// SASLPassword.
func StartSASLDev(t testing.TB, extra ...string) (*Process, string) {
	t.Helper()
	p := &Process{Addr: FreeAddr(t), log: filepath.Join(t.TempDir(), "caudal.log")}
	sasl := FreeAddr(t)
	p.args = append([]string{"dev", "--data-dir", t.TempDir(), "--http-listen", ""}, saslFlags(t, p.Addr, sasl)...)
	p.args = append(p.args, extra...)
	p.Start(t)
	t.Cleanup(p.Kill)
	return p, sasl
}

// StartSASLProcess is StartProcess with StartSASLDev's SASL listener.
func StartSASLProcess(t testing.TB, bucketURL, metadataURL string, extra ...string) (*Process, string) {
	t.Helper()
	p := &Process{Addr: FreeAddr(t), log: filepath.Join(t.TempDir(), "caudal.log")}
	sasl := FreeAddr(t)
	p.args = append([]string{"gateway", "--bucket-url", bucketURL, "--metadata-url", metadataURL, "--http-listen", ""},
		saslFlags(t, p.Addr, sasl)...)
	p.args = append(p.args, extra...)
	p.Start(t)
	t.Cleanup(p.Kill)
	return p, sasl
}

func saslFlags(t testing.TB, plain, sasl string) []string {
	// The child inherits the variable: the password is never a flag.
	t.Setenv("CAUDAL_SASL_ADMIN_PASSWORD", SASLPassword)
	return []string{
		"--listeners", "PLAINTEXT://" + plain + ",SASL_PLAINTEXT://" + sasl,
		"--sasl-enabled-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER",
		"--sasl-oauthbearer-unsecured",
		"--sasl-admin-user", "admin",
	}
}

// StartSecureProcess is StartProcess with a second listener, SASL_SSL,
// whose address it returns: TLS with ca's certificate for "server",
// SCRAM-SHA-512 and -256, Kafka ACLs with admin (password SASLPassword)
// as the super user, and extra flags after.
func StartSecureProcess(t testing.TB, bucketURL, metadataURL string, ca *CA, extra ...string) (*Process, string) {
	t.Helper()
	t.Setenv("CAUDAL_SASL_ADMIN_PASSWORD", SASLPassword)
	cert, key := ca.Issue(t, "server")
	p := &Process{Addr: FreeAddr(t), log: filepath.Join(t.TempDir(), "caudal.log")}
	secure := FreeAddr(t)
	p.args = append([]string{"gateway", "--bucket-url", bucketURL, "--metadata-url", metadataURL, "--http-listen", "",
		"--listeners", "PLAINTEXT://" + p.Addr + ",SASL_SSL://" + secure,
		"--ssl-certificate-location", cert, "--ssl-key-location", key,
		"--sasl-enabled-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256",
		"--authorizer", "acl", "--super-users", "User:admin", "--sasl-admin-user", "admin"}, extra...)
	p.Start(t)
	t.Cleanup(p.Kill)
	return p, secure
}
