package main

// The client side of Kafka's security settings: the security.protocol,
// ssl.* and sasl.* client properties of --command-config (and of the
// console tools' --producer.config and --consumer.config) turned into
// kgo's TLS and SASL options, in this one place for every tool.
//
// Supported: security.protocol PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL;
// sasl.mechanism PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER with
// sasl.jaas.config; an OAUTHBEARER token from the file a file:// URL in
// sasl.oauthbearer.token.endpoint.url names, or minted unsigned from the
// unsecured login module's unsecuredLoginStringClaim_* options; PEM trust
// and key stores only (ssl.truststore.*, ssl.keystore.*); and
// ssl.endpoint.identification.algorithm. Other ssl.* and sasl.* settings
// get a note on stderr, never silence and never a failure, as Kafka's
// clients warn about settings they do not use. No value is ever printed:
// these properties hold passwords and keys.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/caudal/caudal/gateway"
)

// supportedSecurityProperties are the ssl.*, sasl.* and security.*
// client properties the tools act on. The store passwords are among them
// because PEM stores need none; an encrypted key is refused when read.
var supportedSecurityProperties = []string{
	"security.protocol",
	"sasl.mechanism", "sasl.jaas.config", "sasl.oauthbearer.token.endpoint.url",
	"ssl.truststore.location", "ssl.truststore.type", "ssl.truststore.certificates", "ssl.truststore.password",
	"ssl.keystore.location", "ssl.keystore.type", "ssl.keystore.certificate.chain", "ssl.keystore.key",
	"ssl.keystore.password", "ssl.key.password",
	"ssl.endpoint.identification.algorithm",
}

// isSecurityProperty reports whether k is for securityOpts rather than
// for a tool's own settings.
func isSecurityProperty(k string) bool {
	return strings.HasPrefix(k, "ssl.") || strings.HasPrefix(k, "sasl.") || strings.HasPrefix(k, "security.")
}

// securityOpts returns the kgo options the security properties among
// props ask for; PLAINTEXT, the default, needs none.
func securityOpts(props map[string]string) ([]kgo.Opt, error) {
	noteUnsupportedProperties(props)
	protocol := gateway.Plaintext
	if s := strings.ToUpper(strings.TrimSpace(props["security.protocol"])); s != "" {
		var err error
		if protocol, err = gateway.ParseProtocol(s); err != nil {
			return nil, fmt.Errorf("security.protocol: %w", err)
		}
	}
	if !protocol.UsesSASL() {
		noteUnusedSASL(props, protocol)
	}
	var opts []kgo.Opt
	if protocol.UsesTLS() {
		cfg, err := clientTLS(props)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if protocol.UsesSASL() {
		m, err := saslMechanism(props, protocol)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func noteUnsupportedProperties(props map[string]string) {
	var keys []string
	for k := range props {
		if isSecurityProperty(k) && !slices.Contains(supportedSecurityProperties, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		note("the client property '%s' is not supported by caudal's tools; ignored", k)
	}
}

// noteUnusedSASL says that SASL settings do nothing without a SASL
// protocol, the usual reason a client that was given a password is
// refused.
func noteUnusedSASL(props map[string]string, protocol gateway.Protocol) {
	if props["sasl.mechanism"] != "" || props["sasl.jaas.config"] != "" {
		note("sasl.* properties are set but security.protocol is %s: connecting without SASL", protocol)
	}
}

func note(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "WARN "+format+"\n", args...)
}

// clientTLS is the TLS configuration of the ssl.* properties: TLS 1.2 at
// least, as the gateway's listeners ask.
func clientTLS(props map[string]string) (*tls.Config, error) {
	roots, err := trustedRoots(props)
	if err != nil {
		return nil, err
	}
	certs, err := clientCertificates(props)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, Certificates: certs}
	alg, set := props["ssl.endpoint.identification.algorithm"]
	if !set {
		alg = "https" // Kafka's default
	}
	switch strings.ToLower(strings.TrimSpace(alg)) {
	case "https":
	case "":
		verifyChainOnly(cfg)
	default:
		return nil, fmt.Errorf("ssl.endpoint.identification.algorithm %q: want https, or empty to skip checking the server's host name", alg)
	}
	return cfg, nil
}

// verifyChainOnly checks that the server's certificate chains to the
// trusted roots without checking that it names the host, which is what an
// empty ssl.endpoint.identification.algorithm means in Kafka.
func verifyChainOnly(cfg *tls.Config) {
	roots := cfg.RootCAs
	cfg.InsecureSkipVerify = true // the chain is still verified below; only the name is not
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server sent no certificate")
		}
		intermediates := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates})
		return err
	}
}

// trustedRoots reads ssl.truststore.location or the inline
// ssl.truststore.certificates; without either the system's roots are
// trusted (nil).
func trustedRoots(props map[string]string) (*x509.CertPool, error) {
	loc, inline := props["ssl.truststore.location"], props["ssl.truststore.certificates"]
	if loc == "" && inline == "" {
		return nil, nil
	}
	if err := checkPEMStoreType("ssl.truststore", props["ssl.truststore.type"]); err != nil {
		return nil, err
	}
	if loc != "" && inline != "" {
		return nil, errors.New("set ssl.truststore.location or ssl.truststore.certificates, not both")
	}
	text, where := inline, "ssl.truststore.certificates"
	if loc != "" {
		b, err := os.ReadFile(loc)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		text, where = string(b), "ssl.truststore.location "+loc
	}
	blocks, err := pemBlocks(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate: caudal's tools read PEM truststores only (%s)", where, truststoreConversion)
	}
	return pool, nil
}

const (
	truststoreConversion = "convert a JKS or PKCS12 truststore with: keytool -exportcert -rfc -keystore truststore.jks -alias CARoot -file ca.pem"
	keystoreConversion   = "convert a JKS or PKCS12 keystore with: keytool -importkeystore -srckeystore keystore.jks -destkeystore keystore.p12 -deststoretype PKCS12; openssl pkcs12 -in keystore.p12 -nodes -out client.pem"
)

// checkPEMStoreType refuses the Java store types: the tools read PEM,
// which is also Kafka's ssl.*.type=PEM, and say how to convert the rest.
func checkPEMStoreType(prefix, typ string) error {
	switch t := strings.ToUpper(strings.TrimSpace(typ)); t {
	case "", "PEM":
		return nil
	case "JKS", "PKCS12":
		hint := truststoreConversion
		if prefix == "ssl.keystore" {
			hint = keystoreConversion
		}
		return fmt.Errorf("%s.type=%s is not supported: caudal's tools read PEM stores only; %s, then set %s.type=PEM", prefix, t, hint, prefix)
	default:
		return fmt.Errorf("%s.type %q: caudal's tools read PEM stores only", prefix, typ)
	}
}

// clientCertificates reads the client's certificate and key, for mTLS:
// ssl.keystore.location (a PEM file with the chain and the key, Kafka's
// PEM keystore) or the inline ssl.keystore.certificate.chain and
// ssl.keystore.key.
func clientCertificates(props map[string]string) ([]tls.Certificate, error) {
	loc := props["ssl.keystore.location"]
	chain, key := props["ssl.keystore.certificate.chain"], props["ssl.keystore.key"]
	switch {
	case loc == "" && chain == "" && key == "":
		return nil, nil
	case loc != "" && (chain != "" || key != ""):
		return nil, errors.New("set ssl.keystore.location or ssl.keystore.certificate.chain and ssl.keystore.key, not both")
	case loc == "" && (chain == "" || key == ""):
		return nil, errors.New("ssl.keystore.certificate.chain and ssl.keystore.key go together")
	}
	if err := checkPEMStoreType("ssl.keystore", props["ssl.keystore.type"]); err != nil {
		return nil, err
	}
	where := "ssl.keystore.certificate.chain and ssl.keystore.key"
	if loc != "" {
		b, err := os.ReadFile(loc)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		chain, key, where = string(b), string(b), "ssl.keystore.location "+loc
	}
	pair, err := keyPair(chain, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return []tls.Certificate{pair}, nil
}

// keyPair is the certificates of chainText and the private key of keyText.
func keyPair(chainText, keyText string) (tls.Certificate, error) {
	chainBlocks, err := pemBlocks(chainText)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyBlocks, err := pemBlocks(keyText)
	if err != nil {
		return tls.Certificate{}, err
	}
	var chainPEM, keyPEM []byte
	for _, b := range chainBlocks {
		if b.Type == "CERTIFICATE" {
			chainPEM = append(chainPEM, pem.EncodeToMemory(b)...)
		}
	}
	for _, b := range keyBlocks {
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY":
			return tls.Certificate{}, errors.New("the private key is encrypted: caudal's tools need it unencrypted (openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain-key.pem)")
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			keyPEM = pem.EncodeToMemory(b)
		}
	}
	switch {
	case chainPEM == nil:
		return tls.Certificate{}, errors.New("no PEM certificate")
	case keyPEM == nil:
		return tls.Certificate{}, errors.New("no PEM private key")
	}
	return tls.X509KeyPair(chainPEM, keyPEM)
}

// pemBlockPattern matches a PEM block also when a properties file's line
// continuations have joined it onto one line, as Kafka's PEM stores allow
// for the inline ssl.truststore.certificates and ssl.keystore.* values.
var pemBlockPattern = regexp.MustCompile(`(?s)-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END ([A-Z0-9 ]+)-----`)

func pemBlocks(text string) ([]*pem.Block, error) {
	var blocks []*pem.Block
	for _, m := range pemBlockPattern.FindAllStringSubmatch(text, -1) {
		if m[1] != m[3] {
			return nil, fmt.Errorf("PEM block BEGIN %s ends with END %s", m[1], m[3])
		}
		if strings.Contains(m[2], ":") {
			return nil, fmt.Errorf("PEM block %s has headers (an OpenSSL-encrypted key?): caudal's tools need unencrypted PEM", m[1])
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[2]), ""))
		if err != nil {
			return nil, fmt.Errorf("PEM block %s is not base64", m[1])
		}
		blocks = append(blocks, &pem.Block{Type: m[1], Bytes: der})
	}
	return blocks, nil
}

// loginModules are the JAAS login modules of the SASL mechanisms.
var loginModules = map[string]string{
	"PLAIN":         plainLoginModule,
	"SCRAM-SHA-256": scramLoginModule,
	"SCRAM-SHA-512": scramLoginModule,
	"OAUTHBEARER":   oauthLoginModule,
}

// saslMechanism is the SASL mechanism sasl.mechanism names, with the
// credentials of sasl.jaas.config.
func saslMechanism(props map[string]string, protocol gateway.Protocol) (sasl.Mechanism, error) {
	mech := strings.ToUpper(strings.TrimSpace(props["sasl.mechanism"]))
	module, ok := loginModules[mech]
	switch {
	case mech == "":
		return nil, fmt.Errorf("security.protocol %s needs sasl.mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (Kafka's default, GSSAPI, is not supported)", protocol)
	case !ok:
		return nil, fmt.Errorf("sasl.mechanism %s is not supported: caudal's tools speak PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER", mech)
	}
	jaas := props[jaasConfigPropKey]
	if strings.TrimSpace(jaas) == "" {
		return nil, fmt.Errorf("sasl.mechanism %s needs sasl.jaas.config, e.g. %s required ...;", mech, module)
	}
	login, err := parseJAAS(jaas)
	if err != nil {
		return nil, err
	}
	if login.module != module {
		return nil, fmt.Errorf("sasl.jaas.config: sasl.mechanism %s takes the login module %s, not %s", mech, module, login.module)
	}
	noteUnknownJAASOptions(login, mech)
	if mech == "OAUTHBEARER" {
		token, err := oauthToken(props, login.options, time.Now())
		if err != nil {
			return nil, err
		}
		return oauth.Auth{Token: token}.AsMechanism(), nil
	}
	user, pass := login.options["username"], login.options["password"]
	if user == "" || pass == "" {
		return nil, fmt.Errorf("sasl.jaas.config: %s needs the options username and password", mech)
	}
	switch mech {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
}

// The unsecured login options of Kafka's default OAUTHBEARER login
// handler that the tools understand.
const (
	unsecuredClaimPrefix    = "unsecuredLoginStringClaim_"
	unsecuredPrincipalClaim = "unsecuredLoginPrincipalClaimName"
	unsecuredLifetime       = "unsecuredLoginLifetimeSeconds"
)

func noteUnknownJAASOptions(login jaasLogin, mech string) {
	var unknown []string
	for k := range login.options {
		known := k == "username" || k == "password"
		if mech == "OAUTHBEARER" {
			known = strings.HasPrefix(k, unsecuredClaimPrefix) || k == unsecuredPrincipalClaim || k == unsecuredLifetime
		}
		if !known {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		note("the sasl.jaas.config option '%s' is not supported by caudal's tools; ignored", k)
	}
}

// oauthToken is the OAUTHBEARER token to present: read from the file
// that sasl.oauthbearer.token.endpoint.url names with a file:// URL (as
// Kafka reads one), or else an unsigned token minted from the JAAS
// options as Kafka's unsecured login handler does, for development
// against a gateway started with --sasl-oauthbearer-unsecured.
func oauthToken(props, options map[string]string, now time.Time) (string, error) {
	endpoint := strings.TrimSpace(props["sasl.oauthbearer.token.endpoint.url"])
	if endpoint == "" {
		return unsecuredToken(options, now)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "file" {
		return "", errors.New("sasl.oauthbearer.token.endpoint.url: caudal's tools read a token from a file:// URL only; fetch the token and name its file")
	}
	b, err := os.ReadFile(u.Path)
	if err != nil {
		return "", fmt.Errorf("sasl.oauthbearer.token.endpoint.url: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("sasl.oauthbearer.token.endpoint.url: %s is empty", u.Path)
	}
	return token, nil
}

// unsecuredToken is an unsigned JWT ("alg":"none") with the
// unsecuredLoginStringClaim_<name> options as claims, iat now and exp
// unsecuredLoginLifetimeSeconds (3600) later.
func unsecuredToken(options map[string]string, now time.Time) (string, error) {
	claims := map[string]any{}
	for k, v := range options {
		if name, ok := strings.CutPrefix(k, unsecuredClaimPrefix); ok && name != "" {
			claims[name] = v
		}
	}
	principal := options[unsecuredPrincipalClaim]
	if principal == "" {
		principal = "sub"
	}
	if claims[principal] == nil {
		return "", fmt.Errorf("OAUTHBEARER needs a token: set sasl.oauthbearer.token.endpoint.url=file:///path/to/token, or %s%s=\"name\" in sasl.jaas.config for an unsecured development token", unsecuredClaimPrefix, principal)
	}
	lifetime := int64(3600)
	if s, ok := options[unsecuredLifetime]; ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return "", fmt.Errorf("sasl.jaas.config: %s %q is not a positive number of seconds", unsecuredLifetime, s)
		}
		lifetime = n
	}
	claims["iat"], claims["exp"] = now.Unix(), now.Unix()+lifetime
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("unsecured token: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + ".", nil
}
