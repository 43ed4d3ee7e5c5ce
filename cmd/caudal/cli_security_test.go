package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

const testPassword = "hunter2-secret"

func scramProps(extra map[string]string) map[string]string {
	props := map[string]string{
		"security.protocol": "SASL_PLAINTEXT",
		"sasl.mechanism":    "SCRAM-SHA-512",
		"sasl.jaas.config":  scramLoginModule + ` required username="alice" password="` + testPassword + `";`,
	}
	for k, v := range extra {
		props[k] = v
	}
	return props
}

func TestSecurityOptsAccepts(t *testing.T) {
	ca := testenv.NewCA(t)
	certFile, keyFile := ca.Issue(t, "client")
	cert, _ := os.ReadFile(certFile)
	key, _ := os.ReadFile(keyFile)
	both := filepath.Join(t.TempDir(), "keystore.pem")
	if err := os.WriteFile(both, append(append([]byte{}, cert...), key...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		props map[string]string
		opts  int
	}{
		{"nothing", map[string]string{}, 0},
		{"plaintext", map[string]string{"security.protocol": "plaintext"}, 0},
		{"SSL with system roots", map[string]string{"security.protocol": "SSL"}, 1},
		{"SSL with a PEM truststore", map[string]string{"security.protocol": "SSL", "ssl.truststore.location": ca.File}, 1},
		{"SSL with PEM type", map[string]string{"security.protocol": "SSL", "ssl.truststore.location": ca.File, "ssl.truststore.type": "pem"}, 1},
		{"PEM keystore of chain and key", map[string]string{"security.protocol": "SSL", "ssl.keystore.location": both, "ssl.keystore.type": "PEM"}, 1},
		{"inline chain and key joined onto one line", map[string]string{"security.protocol": "SSL",
			"ssl.keystore.certificate.chain": oneLinePEM(cert), "ssl.keystore.key": oneLinePEM(key),
			"ssl.truststore.certificates": oneLinePEM(readFile(t, ca.File))}, 1},
		{"SASL_SSL with SCRAM", scramProps(map[string]string{"security.protocol": "SASL_SSL", "ssl.truststore.location": ca.File}), 2},
		{"SCRAM-SHA-256", scramProps(map[string]string{"sasl.mechanism": "scram-sha-256"}), 1},
		{"PLAIN", map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
			"sasl.jaas.config": plainLoginModule + ` required username="a" password="b";`}, 1},
		{"unsecured OAUTHBEARER", map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
			"sasl.jaas.config": oauthLoginModule + ` required unsecuredLoginStringClaim_sub="admin";`}, 1},
	} {
		opts, err := securityOpts(tc.props)
		if err != nil || len(opts) != tc.opts {
			t.Errorf("%s: securityOpts = %d options, %v; want %d", tc.name, len(opts), err, tc.opts)
		}
	}
}

// oneLinePEM is PEM as a properties file's line continuations leave it.
func oneLinePEM(b []byte) string { return strings.Join(strings.Fields(string(b)), " ") }

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSecurityOptsRefuses(t *testing.T) {
	dir := t.TempDir()
	jks := filepath.Join(dir, "truststore.jks")
	if err := os.WriteFile(jks, []byte("\xfe\xed\xfe\xed binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	encrypted := filepath.Join(dir, "encrypted.pem")
	if err := os.WriteFile(encrypted, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"+
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"unknown protocol", map[string]string{"security.protocol": "TLS"}, "want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
		{"no mechanism", scramProps(map[string]string{"sasl.mechanism": ""}), "needs sasl.mechanism"},
		{"GSSAPI", scramProps(map[string]string{"sasl.mechanism": "GSSAPI"}), "sasl.mechanism GSSAPI is not supported"},
		{"no JAAS", scramProps(map[string]string{"sasl.jaas.config": ""}), "needs sasl.jaas.config"},
		{"module of another mechanism", scramProps(map[string]string{"sasl.mechanism": "PLAIN"}), "takes the login module " + plainLoginModule},
		{"no username", scramProps(map[string]string{"sasl.jaas.config": scramLoginModule + ` required password="` + testPassword + `";`}), "needs the options username and password"},
		{"JKS truststore", map[string]string{"security.protocol": "SSL", "ssl.truststore.location": jks, "ssl.truststore.type": "JKS"}, "read PEM stores only; convert"},
		{"PKCS12 keystore", map[string]string{"security.protocol": "SSL", "ssl.keystore.location": jks, "ssl.keystore.type": "PKCS12"}, "openssl pkcs12"},
		{"truststore that is not PEM", map[string]string{"security.protocol": "SSL", "ssl.truststore.location": jks}, "holds no PEM certificate"},
		{"missing truststore", map[string]string{"security.protocol": "SSL", "ssl.truststore.location": filepath.Join(dir, "nope.pem")}, "no such file"},
		{"encrypted key", map[string]string{"security.protocol": "SSL", "ssl.keystore.location": encrypted}, "the private key is encrypted"},
		{"chain without key", map[string]string{"security.protocol": "SSL", "ssl.keystore.certificate.chain": "x"}, "go together"},
		{"hostname check", map[string]string{"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "ldap"}, "want https, or empty"},
		{"OAUTHBEARER without a token", map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER",
			"sasl.jaas.config": oauthLoginModule + " required;"}, "OAUTHBEARER needs a token"},
		{"OAUTHBEARER from an HTTP endpoint", map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER",
			"sasl.jaas.config": oauthLoginModule + " required;", "sasl.oauthbearer.token.endpoint.url": "https://idp/token"}, "file:// URL only"},
	} {
		_, err := securityOpts(tc.props)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), testPassword) {
			t.Errorf("%s: securityOpts error %v; want one containing %q and no password", tc.name, err, tc.want)
		}
	}
}

func TestUnsecuredToken(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	token, err := unsecuredToken(map[string]string{unsecuredClaimPrefix + "sub": "admin", unsecuredClaimPrefix + "team": "ops",
		unsecuredLifetime: "60"}, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("token %q is not header.payload. with an empty signature", token)
	}
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if string(header) != `{"alg":"none"}` || json.Unmarshal(payload, &claims) != nil {
		t.Fatalf("header %s, payload %s", header, payload)
	}
	if claims["sub"] != "admin" || claims["team"] != "ops" || claims["iat"] != float64(now.Unix()) || claims["exp"] != float64(now.Unix()+60) {
		t.Fatalf("claims %v", claims)
	}
	if _, err := unsecuredToken(map[string]string{unsecuredClaimPrefix + "sub": "a", unsecuredPrincipalClaim: "user"}, now); err == nil ||
		!strings.Contains(err.Error(), unsecuredClaimPrefix+"user") {
		t.Fatalf("a token without its principal claim: %v", err)
	}
}

func TestOAuthTokenFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.jwt")
	if err := os.WriteFile(path, []byte("aaa.bbb.ccc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	token, err := oauthToken(map[string]string{"sasl.oauthbearer.token.endpoint.url": "file://" + path}, nil, time.Now())
	if err != nil || token != "aaa.bbb.ccc" {
		t.Fatalf("oauthToken = %q, %v", token, err)
	}
}

// TestHostnameVerification: an empty ssl.endpoint.identification.algorithm
// skips the host name check but not the chain's.
func TestHostnameVerification(t *testing.T) {
	ca, other := testenv.NewCA(t), testenv.NewCA(t)
	certFile, keyFile := ca.Issue(t, "server")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	handshake := func(props map[string]string) error {
		cfg, err := clientTLS(props)
		if err != nil {
			return err
		}
		cfg.ServerName = "kafka.example.com" // not a name the certificate has
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := handshake(map[string]string{"ssl.truststore.location": ca.File}); err == nil {
		t.Fatal("a certificate for another host name was accepted with hostname verification on")
	}
	noNames := map[string]string{"ssl.truststore.location": ca.File, "ssl.endpoint.identification.algorithm": ""}
	if err := handshake(noNames); err != nil {
		t.Fatalf("without hostname verification: %v", err)
	}
	noNames["ssl.truststore.location"] = other.File
	if err := handshake(noNames); err == nil {
		t.Fatal("a certificate of an untrusted CA was accepted without hostname verification")
	}
}
