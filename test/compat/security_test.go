package compat

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The security runs: every client of the matrix produces N keyed records
// and consumes them back in a group over SASL_SSL with SCRAM-SHA-512, and
// over SSL with a client certificate, on caudal processes that enforce
// ACLs; and confluent_kafka shows that an authorization failure reaches a
// non-Go client with Kafka's error code.
//
// One process per listener: each has its own super user and ACLs, so a
// run on one listener cannot pass on grants made for the other.

// security is how a client connects to a TLS listener: the CA it trusts,
// and either SCRAM-SHA-512 credentials (SASL_SSL) or a certificate of
// its own (SSL). A nil *security is PLAINTEXT.
type security struct {
	Protocol          string // SASL_SSL or SSL
	CAFile            string
	CertFile, KeyFile string // SSL: the client's certificate and key
	User, Password    string // SASL_SSL
	// TLS is the same files as a Go client's configuration. ServerName
	// is left empty: each client must verify the address it dials.
	TLS *tls.Config
}

func newSecurity(t *testing.T, protocol, caFile, certFile, keyFile, user, password string) *security {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return &security{Protocol: protocol, CAFile: caFile, CertFile: certFile, KeyFile: keyFile,
		User: user, Password: password, TLS: cfg}
}

// rdkafka is s in librdkafka's properties, which kcat, confluent_kafka
// and confluent-kafka-go take as they are and compat.js maps onto
// kafkajs's options.
func (s *security) rdkafka() map[string]string {
	if s == nil {
		return nil
	}
	p := map[string]string{
		"security.protocol": s.Protocol,
		"ssl.ca.location":   s.CAFile,
		// librdkafka 2.x checks the broker's name against its
		// certificate by default (1.x did not); said here so that no
		// version skips it. The server certificate names 127.0.0.1 as
		// an IP SAN, which librdkafka 2.0.2 matches.
		"ssl.endpoint.identification.algorithm": "https",
	}
	if s.CertFile != "" {
		p["ssl.certificate.location"] = s.CertFile
		p["ssl.key.location"] = s.KeyFile
	}
	if s.User != "" {
		p["sasl.mechanisms"] = "SCRAM-SHA-512"
		p["sasl.username"] = s.User
		p["sasl.password"] = s.Password
	}
	return p
}

// configArgs is the trailing argument of a script client's command: the
// path of a JSON file of s.rdkafka(), or nothing on PLAINTEXT. A file
// keeps the password off command lines.
func (s *security) configArgs(t *testing.T) []string {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(s.rdkafka())
	if err != nil {
		t.Fatal(err)
	}
	return []string{writeSecret(t, "client.json", string(b))}
}

// kgoOpts connects franz-go (the tests' admin client) as s.
func (s *security) kgoOpts() []kgo.Opt {
	opts := []kgo.Opt{kgo.DialTLSConfig(s.TLS)}
	if s.User != "" {
		opts = append(opts, kgo.SASL(scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()))
	}
	return opts
}

// writeSecret writes a file only the test's user may read, in a
// directory of the test's own.
func writeSecret(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// randomPassword is a fresh password per run: nothing to leak, nothing
// that a test could pass with by accident.
func randomPassword(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// certPrincipal is the principal caudal, like Kafka's default principal
// builder, derives from a client certificate: its subject's DN, in RFC
// 2253 order (testenv.CA.Issue sets O=caudal).
func certPrincipal(cn string) string { return "User:CN=" + cn + ",O=caudal" }

// secServer is a caudal process serving one TLS listener, and an admin
// client (a super user's) on that listener.
type secServer struct {
	listener string
	addr     string
	caFile   string
	admin    *kadm.Client
	// connect returns how client name connects, and grants it what
	// it needs on e's topic and group.
	connect func(t *testing.T, ctx context.Context, name string, e env) *security
}

// serverTLSFlags are the flags of a TLS listener's certificate.
func serverTLSFlags(cert, key string) []string {
	return []string{"--ssl-certificate-location", cert, "--ssl-key-location", key, "--flush-interval", "20ms"}
}

// startSASLSSL serves SASL_SSL with SCRAM, its first user alice made at
// start-up and a super user; the clients connect as alice.
func startSASLSSL(t *testing.T, ca *testenv.CA, cert, key string) *secServer {
	t.Helper()
	password := randomPassword(t)
	_, addrs := testenv.StartDevListeners(t, []string{"SASL_SSL"}, append(serverTLSFlags(cert, key),
		"--sasl-enabled-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256",
		"--sasl-admin-user", "alice", "--sasl-admin-password-file", writeSecret(t, "alice", password),
		"--authorizer", "acl", "--super-users", "User:alice")...)
	alice := newSecurity(t, "SASL_SSL", ca.File, "", "", "alice", password)
	return &secServer{
		listener: "SASL_SSL",
		addr:     addrs["SASL_SSL"],
		caFile:   ca.File,
		admin:    secAdmin(t, addrs["SASL_SSL"], alice),
		connect: func(*testing.T, context.Context, string, env) *security {
			return alice
		},
	}
}

// startSSL serves SSL with client certificates required. The admin is a
// super user by its certificate; each client gets a certificate of its
// own and ACLs for its topic and group, so a run passes only if caudal
// took the client's principal from the certificate it presented.
func startSSL(t *testing.T, ca *testenv.CA, cert, key string) *secServer {
	t.Helper()
	_, addrs := testenv.StartDevListeners(t, []string{"SSL"}, append(serverTLSFlags(cert, key),
		"--ssl-client-auth", "required", "--ssl-truststore-location", ca.File,
		"--authorizer", "acl", "--super-users", certPrincipal("admin"))...)
	adminCert, adminKey := ca.Issue(t, "admin")
	s := &secServer{
		listener: "SSL",
		addr:     addrs["SSL"],
		caFile:   ca.File,
		admin:    secAdmin(t, addrs["SSL"], newSecurity(t, "SSL", ca.File, adminCert, adminKey, "", "")),
	}
	s.connect = func(t *testing.T, ctx context.Context, name string, e env) *security {
		cn := "client-" + name
		grant(t, ctx, s.admin, kadm.NewACLs().Allow(certPrincipal(cn)).Topics(e.Topic).Groups(e.Group).Operations(kadm.OpAll))
		certFile, keyFile := ca.Issue(t, cn)
		return newSecurity(t, "SSL", ca.File, certFile, keyFile, "", "")
	}
	return s
}

func secAdmin(t *testing.T, addr string, s *security) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(s.kgoOpts(), kgo.SeedBrokers(addr))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func grant(t *testing.T, ctx context.Context, adm *kadm.Client, b *kadm.ACLBuilder) {
	t.Helper()
	res, err := adm.CreateACLs(ctx, b)
	if err != nil {
		t.Fatalf("create ACLs: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("create ACL for %s on %s: %v", r.Principal, r.Name, r.Err)
		}
	}
}

func createTopic(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) {
	t.Helper()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("kadm create topic %s: %v", topic, err)
	}
}

// TestSecurity runs every client once on each TLS listener, all in
// parallel, plus the denial check, and logs a table of the results.
func TestSecurity(t *testing.T) {
	sortClients()
	ca := testenv.NewCA(t)
	cert, key := ca.Issue(t, "server")
	saslSSL := startSASLSSL(t, ca, cert, key)
	servers := []*secServer{saslSSL, startSSL(t, ca, cert, key)}

	var mu sync.Mutex
	results := map[string]map[string]string{} // client → listener → result
	t.Cleanup(func() { t.Log(securityTable(servers, results)) })
	for _, srv := range servers {
		for _, c := range clients {
			t.Run(srv.listener+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				begin := time.Now()
				defer func() {
					r := "ok"
					if t.Failed() {
						r = "FAIL"
					}
					mu.Lock()
					defer mu.Unlock()
					if results[c.name] == nil {
						results[c.name] = map[string]string{}
					}
					results[c.name][srv.listener] = fmt.Sprintf("%s %s", r, time.Since(begin).Round(100*time.Millisecond))
				}()
				runSecure(t, srv, c)
			})
		}
	}
	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		testDenied(t, saslSSL)
	})
}

// runSecure is the scenario on a TLS listener: produce N keyed records,
// consume them back in a group, check every record and the group's
// commits.
func runSecure(t *testing.T, srv *secServer, c client) {
	if c.produce == nil || c.consume == nil {
		t.Fatalf("%s has no produce or consume", c.name)
	}
	ctx := stepCtx(t, 90*time.Second)
	e := env{Addr: srv.addr, Topic: strings.ToLower(srv.listener) + "-" + c.name}
	e.Group = e.Topic + "-group"
	createTopic(t, ctx, srv.admin, e.Topic)
	e.Sec = srv.connect(t, ctx, c.name, e)
	want := keyedRecords(c.name + " over " + srv.listener)
	c.produce(t, ctx, e, want)
	if t.Failed() {
		return
	}
	var total int64
	for _, o := range endOffsets(t, ctx, srv.admin, e.Topic) {
		total += o
	}
	if total != numRecords {
		t.Fatalf("after produce the end offsets add up to %d, want %d", total, numRecords)
	}
	checkRecords(t, c.consume(t, ctx, e, numRecords), want)
	checkCommits(t, srv.admin, e)
}

// testDenied: bob, a SCRAM user made with AlterUserScramCredentials,
// may read his group but not the topic; confluent_kafka (librdkafka)
// must report TOPIC_AUTHORIZATION_FAILED, whether the refusal comes in
// Metadata (bob may not even describe the topic) or in Fetch (he may
// describe it but not read it).
func testDenied(t *testing.T, srv *secServer) {
	ctx := stepCtx(t, 60*time.Second)
	password := randomPassword(t)
	altered, err := srv.admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "bob", Mechanism: kadm.ScramSha512, Password: password}})
	if err == nil {
		err = altered.Error()
	}
	if err != nil {
		t.Fatalf("create user bob: %v", err)
	}
	bob := newSecurity(t, "SASL_SSL", srv.caFile, "", "", "bob", password)
	for _, tc := range []struct {
		name     string
		topicOps []kadm.ACLOperation
	}{
		{"metadata", nil},
		{"fetch", []kadm.ACLOperation{kadm.OpDescribe}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic, group := "denied-"+tc.name, "denied-"+tc.name+"-group"
			createTopic(t, ctx, srv.admin, topic)
			grant(t, ctx, srv.admin, kadm.NewACLs().Allow("User:bob").Groups(group).Operations(kadm.OpRead))
			if tc.topicOps != nil {
				grant(t, ctx, srv.admin, kadm.NewACLs().Allow("User:bob").Topics(topic).Operations(tc.topicOps...))
			}
			lines := runPy(t, ctx, "", append([]string{"first-error", srv.addr, topic, group}, bob.configArgs(t)...)...)
			const want = "29 TOPIC_AUTHORIZATION_FAILED"
			if len(lines) != 1 || lines[0] != want {
				t.Fatalf("confluent_kafka consuming %s as bob reported %q, want %q", topic, lines, want)
			}
		})
	}
}

// securityTable is the results as a client × listener table.
func securityTable(servers []*secServer, results map[string]map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-24s", "client")
	for _, s := range servers {
		fmt.Fprintf(&b, " %-14s", s.listener)
	}
	b.WriteString("\n")
	names := make([]string, 0, len(clients))
	for _, c := range clients {
		if results[c.name] != nil {
			names = append(names, c.name)
		}
	}
	for _, n := range names {
		fmt.Fprintf(&b, "%-24s", n)
		for _, s := range servers {
			r := results[n][s.listener]
			if r == "" {
				r = "-"
			}
			fmt.Fprintf(&b, " %-14s", r)
		}
		b.WriteString("\n")
	}
	return b.String()
}
