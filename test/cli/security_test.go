package cli

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

// The passwords hold characters that quoting and Kafka's bracketed
// --add-config must carry through: a colon, a comma, an equals sign.
const (
	adminPassword = "admin:Pa55word"
	alicePassword = "alice,s3cret=1"
)

// secureServer is a caudal dev with Kafka's security on: SCRAM on a
// SASL_SSL listener (bootstrap), PLAIN and unsecured OAUTHBEARER also
// offered, on a SASL_PLAINTEXT one too (the PLAINTEXT listener every
// testenv process has goes unused); ACLs enforced; and admin, created at
// start-up from CAUDAL_SASL_ADMIN_PASSWORD, the super user.
type secureServer struct {
	server
	saslPlaintext string
	ca            *testenv.CA
	dir           string
}

func startSecureServer(t *testing.T) secureServer {
	t.Helper()
	ca := testenv.NewCA(t)
	cert, key := ca.Issue(t, "gateway")
	// env(1) passes the password as the variable; it execs caudal in its
	// own place, so the process the test kills is caudal itself.
	_, addrs := testenv.StartDevUnder(t, []string{"env", "CAUDAL_SASL_ADMIN_PASSWORD=" + adminPassword},
		[]string{"SASL_SSL", "SASL_PLAINTEXT"},
		"--ssl-certificate-location", cert, "--ssl-key-location", key,
		"--sasl-enabled-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER", "--sasl-oauthbearer-unsecured",
		"--authorizer", "acl", "--super-users", "User:admin", "--sasl-admin-user", "admin")
	return secureServer{server: server{bin: testenv.CaudalBinary(t), bootstrap: addrs["SASL_SSL"]},
		saslPlaintext: addrs["SASL_PLAINTEXT"], ca: ca, dir: t.TempDir()}
}

// properties writes a client properties file of lines and returns its path.
func (s secureServer) properties(t *testing.T, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(s.dir, name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs a tool like server.tool and fails the test if a password shows
// in what it printed.
func (s secureServer) run(t *testing.T, stdin, tool string, args ...string) result {
	t.Helper()
	r := s.tool(t, stdin, tool, args...)
	for _, secret := range []string{adminPassword, alicePassword, "wrong-password"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("caudal %s printed a password: %v", tool, r)
		}
	}
	return r
}

// ok is run that fails the test unless the tool exits 0.
func (s secureServer) ok(t *testing.T, stdin, tool string, args ...string) result {
	t.Helper()
	r := s.run(t, stdin, tool, args...)
	if r.code != 0 {
		t.Fatalf("caudal %s %s: %v", tool, strings.Join(args, " "), r)
	}
	return r
}

const scramModule = "org.apache.kafka.common.security.scram.ScramLoginModule"

// TestSecurity manages users and ACLs with the Kafka tools as the admin
// over SASL_SSL, then produces and consumes as a user the ACLs allow, and
// checks what they refuse.
func TestSecurity(t *testing.T) {
	t.Parallel()
	s := startSecureServer(t)
	admin := []string{"--command-config", s.properties(t, "admin.properties",
		"# the admin's client settings, as Kafka's tools read them",
		"security.protocol=SASL_SSL",
		"sasl.mechanism=SCRAM-SHA-512",
		`sasl.jaas.config=`+scramModule+` required \`,
		`    username="admin" \`,
		`    password="`+adminPassword+`";`,
		"ssl.truststore.type=PEM",
		"ssl.truststore.location="+s.ca.File)}
	// Java's other separators, and no hostname check: the certificate
	// names localhost and 127.0.0.1, which is what is dialled anyway.
	aliceFile := s.properties(t, "alice.properties",
		"security.protocol: SASL_SSL",
		"sasl.mechanism SCRAM-SHA-256",
		`sasl.jaas.config = `+scramModule+` required username="alice" password="`+alicePassword+`";`,
		"ssl.truststore.location="+s.ca.File,
		"ssl.endpoint.identification.algorithm=")
	alice := []string{"--command-config", aliceFile}
	with := func(base []string, args ...string) []string { return append(append([]string{}, base...), args...) }

	// Users: both mechanisms in one --add-config, as Kafka's docs show it.
	r := s.ok(t, "", "configs", with(admin, "--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config",
		"SCRAM-SHA-256=[iterations=8192,password="+alicePassword+"],SCRAM-SHA-512=[password="+alicePassword+"]")...)
	if r.stdout != "Completed updating config for user alice.\n" {
		t.Fatalf("add SCRAM credentials printed %q", r.stdout)
	}
	r = s.ok(t, "", "configs", with(admin, "--entity-type", "users", "--entity-name", "alice", "--describe")...)
	if want := "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n"; r.stdout != want {
		t.Fatalf("describe alice printed %q, want %q", r.stdout, want)
	}

	s.ok(t, "", "topics", with(admin, "--create", "--topic", "orders", "--partitions", "1", "--replication-factor", "1")...)
	s.ok(t, "", "topics", with(admin, "--create", "--topic", "secret", "--partitions", "1", "--replication-factor", "1")...)

	// ACLs: the consumer role, then the producer role through Kafka's name.
	r = s.ok(t, "", "acls", with(admin, "--add", "--allow-principal", "User:alice", "--consumer", "--topic", "orders", "--group", "audit")...)
	want := "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: \n" +
		" \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n" +
		"\t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)\n\n" +
		"Adding ACLs for resource `ResourcePattern(resourceType=GROUP, name=audit, patternType=LITERAL)`: \n" +
		" \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n\n"
	if r.stdout != want {
		t.Fatalf("acls --add --consumer printed\n%s\nwant\n%s", r.stdout, want)
	}
	kafkaACLs := filepath.Join(t.TempDir(), "kafka-acls.sh")
	if err := os.Symlink(s.bin, kafkaACLs); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, kafkaACLs, "", with(admin, "--bootstrap-server", s.bootstrap, "--add", "--allow-principal", "User:alice",
		"--producer", "--topic", "orders")...)
	if r.code != 0 || !strings.Contains(r.stdout, "operation=DESCRIBE, permissionType=ALLOW)) already exists.\n") ||
		!strings.Contains(r.stdout, "operation=WRITE") || !strings.Contains(r.stdout, "operation=CREATE") {
		t.Fatalf("kafka-acls.sh --add --producer: %v", r)
	}
	r = s.ok(t, "", "acls", with(admin, "--list", "--topic", "orders")...)
	want = "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:\n" +
		"\t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n" +
		"\t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)\n" +
		"\t(principal=User:alice, host=*, operation=CREATE, permissionType=ALLOW)\n" +
		"\t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)\n\n"
	if r.stdout != want {
		t.Fatalf("acls --list --topic orders printed\n%s\nwant\n%s", r.stdout, want)
	}

	// Alice produces and consumes with the console tools' own config flags;
	// --consumer-property overrides what the file says.
	s.ok(t, "k1:v1\nk2:v2\n", "console-producer", "--producer.config", aliceFile, "--topic", "orders",
		"--property", "parse.key=true", "--property", "key.separator=:")
	r = s.ok(t, "", "console-consumer", "--consumer.config", aliceFile, "--consumer-property", "sasl.mechanism=SCRAM-SHA-512",
		"--topic", "orders", "--group", "audit", "--from-beginning", "--max-messages", "2", "--property", "print.key=true")
	if r.stdout != "k1\tv1\nk2\tv2\n" {
		t.Fatalf("alice consumed %q", r.stdout)
	}

	// What alice may not do fails at once, with Kafka's error, exit 1.
	wantFail(t, s.run(t, "", "console-consumer", with(alice, "--topic", "secret", "--from-beginning")...), 1,
		"Error processing message, terminating consumer process: TOPIC_AUTHORIZATION_FAILED")
	wantFail(t, s.run(t, "", "console-consumer", with(alice, "--topic", "orders", "--group", "other")...), 1,
		"GROUP_AUTHORIZATION_FAILED")
	wantFail(t, s.run(t, "x\n", "console-producer", with(alice, "--topic", "secret")...), 1,
		"Error when sending message to topic secret: TOPIC_AUTHORIZATION_FAILED")
	wantFail(t, s.run(t, "", "acls", with(alice, "--list")...), 1,
		"Error while executing ACL command: CLUSTER_AUTHORIZATION_FAILED")
	if r := s.ok(t, "", "topics", with(alice, "--list")...); r.stdout != "orders\n" {
		t.Fatalf("alice lists topics %q; want only the one she may describe", r.stdout)
	}
	wrong := s.properties(t, "wrong.properties", "security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-256",
		"sasl.jaas.config="+scramModule+` required username="alice" password="wrong-password";`, "ssl.truststore.location="+s.ca.File)
	wantFail(t, s.run(t, "", "topics", "--list", "--command-config", wrong), 1, "SASL_AUTHENTICATION_FAILED")

	s.checkOtherMechanisms(t)

	// Removing asks first, as Kafka does; --force does not.
	remove := with(admin, "--remove", "--allow-principal", "User:alice", "--consumer", "--topic", "orders", "--group", "audit")
	r = s.ok(t, "n\nn\n", "acls", remove...)
	if !strings.HasPrefix(r.stdout, "Are you sure you want to remove ACLs: \n \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n") ||
		!strings.Contains(r.stdout, " from resource filter `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`? (y/n)\n") {
		t.Fatalf("acls --remove asked %q", r.stdout)
	}
	if r := s.ok(t, "", "acls", with(admin, "--list", "--group", "audit")...); !strings.Contains(r.stdout, "operation=READ") {
		t.Fatalf("answering n removed ACLs: %q", r.stdout)
	}
	r = s.ok(t, "", "acls", append(remove, "--force")...)
	if r.stdout != "" {
		t.Fatalf("acls --remove --force printed %q", r.stdout)
	}
	r = s.ok(t, "", "acls", with(admin, "--list")...)
	if strings.Contains(r.stdout, "operation=READ") || strings.Contains(r.stdout, "name=audit") || !strings.Contains(r.stdout, "operation=WRITE") {
		t.Fatalf("after removing the consumer's ACLs: %q", r.stdout)
	}
	wantFail(t, s.run(t, "", "console-consumer", with(alice, "--topic", "orders", "--group", "audit")...), 1, "AUTHORIZATION_FAILED")

	s.ok(t, "", "configs", with(admin, "--entity-type", "users", "--entity-name", "alice", "--alter", "--delete-config", "SCRAM-SHA-512")...)
	r = s.ok(t, "", "configs", with(admin, "--entity-type", "users", "--describe")...)
	if !strings.Contains(r.stdout, "'alice' are SCRAM-SHA-256=iterations=8192\n") {
		t.Fatalf("after deleting SCRAM-SHA-512: %q", r.stdout)
	}
}

// checkOtherMechanisms lists topics over SASL_PLAINTEXT with PLAIN, an
// unsecured OAUTHBEARER token minted from the JAAS options, and a token
// read from a file.
func (s secureServer) checkOtherMechanisms(t *testing.T) {
	t.Helper()
	const oauthModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
	tokenFile := filepath.Join(s.dir, "token.jwt")
	now := time.Now().Unix()
	b64 := base64.RawURLEncoding.EncodeToString
	token := b64([]byte(`{"alg":"none"}`)) + "." + b64(fmt.Appendf(nil, `{"sub":"alice","iat":%d,"exp":%d}`, now, now+600)) + "."
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		props []string
		want  string
	}{
		{"plain", []string{"sasl.mechanism=PLAIN",
			"sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"" + alicePassword + "\";"},
			"orders\n"},
		{"unsecured-oauth", []string{"sasl.mechanism=OAUTHBEARER",
			"sasl.jaas.config=" + oauthModule + ` required unsecuredLoginStringClaim_sub="admin";`}, "orders\nsecret\n"},
		{"token-file", []string{"sasl.mechanism=OAUTHBEARER", "sasl.jaas.config=" + oauthModule + " required;",
			"sasl.oauthbearer.token.endpoint.url=file://" + tokenFile}, "orders\n"},
	} {
		file := s.properties(t, tc.name+".properties", append([]string{"security.protocol=SASL_PLAINTEXT"}, tc.props...)...)
		r := runBin(t, s.bin, "", "topics", "--bootstrap-server", s.saslPlaintext, "--command-config", file, "--list")
		if r.code != 0 || r.stdout != tc.want {
			t.Fatalf("%s: topics --list: %v", tc.name, r)
		}
	}
}

// TestACLsNeedAnAuthorizer: without --authorizer acl the gateway answers
// SECURITY_DISABLED, and the tool says which flag turns ACLs on.
func TestACLsNeedAnAuthorizer(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	wantFail(t, s.tool(t, "", "acls", "--list"), 1, "SECURITY_DISABLED")
	wantFail(t, s.tool(t, "", "acls", "--add", "--allow-principal", "User:a", "--topic", "t"), 1, "--authorizer acl")
}

// TestBadCommandConfig: a client properties file that cannot work fails
// before connecting, saying why; unsupported security settings get a note.
func TestBadCommandConfig(t *testing.T) {
	t.Parallel()
	s := server{bin: testenv.CaudalBinary(t), bootstrap: testenv.FreeAddr(t)}
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	jks := write("jks.properties", "security.protocol=SSL\nssl.truststore.location=/etc/kafka/truststore.jks\nssl.truststore.type=JKS\n")
	gssapi := write("gssapi.properties", "security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\n")
	unsupported := write("unsupported.properties", "ssl.protocol=TLSv1.3\n")
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"topics", "--list", "--command-config", filepath.Join(dir, "none.properties")}, "read properties file: "},
		{[]string{"consumer-groups", "--list", "--command-config", jks}, "caudal's tools read PEM stores only; convert"},
		{[]string{"console-consumer", "--topic", "t", "--consumer.config", gssapi}, "sasl.mechanism GSSAPI is not supported"},
		{[]string{"acls", "--list", "--command-config", unsupported}, "WARN the client property 'ssl.protocol' is not supported"},
	} {
		wantFail(t, s.tool(t, "", tc.args[0], tc.args[1:]...), 1, tc.stderr)
	}
}
