package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

var b64 = base64.RawURLEncoding.EncodeToString

// testKey is a signing key with the algorithm and kid its tokens name.
type testKey struct {
	alg, kid string
	priv     crypto.Signer
}

var (
	keysOnce sync.Once
	rsaPriv  *rsa.PrivateKey
	ecPriv   *ecdsa.PrivateKey // P-256
	ec384    *ecdsa.PrivateKey
	edPriv   ed25519.PrivateKey
	rsaOther *rsa.PrivateKey // not in any key file
)

// testKeys generates the keys once per test binary; RSA keys are slow.
func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		rsaPriv, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsaOther, _ = rsa.GenerateKey(rand.Reader, 2048)
		ecPriv, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ec384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		_, edPriv, _ = ed25519.GenerateKey(rand.Reader)
	})
}

func (k testKey) sign(t testing.TB, in []byte) []byte {
	t.Helper()
	hashes := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}
	var h crypto.Hash
	if k.alg != "EdDSA" {
		h = hashes[k.alg[2:]]
	}
	var (
		sig []byte
		err error
	)
	switch k.alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.priv.(*rsa.PrivateKey), h, digest(h, in))
	case "PS":
		sig, err = rsa.SignPSS(rand.Reader, k.priv.(*rsa.PrivateKey), h, digest(h, in), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		priv := k.priv.(*ecdsa.PrivateKey)
		r, s, e := ecdsa.Sign(rand.Reader, priv, digest(h, in))
		size := (priv.Curve.Params().BitSize + 7) / 8
		sig, err = append(r.FillBytes(make([]byte, size)), s.FillBytes(make([]byte, size))...), e
	case "Ed":
		sig = ed25519.Sign(k.priv.(ed25519.PrivateKey), in)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// token makes a JWS of claims with header fields extra (which may
// override alg and kid).
func (k testKey) token(t testing.TB, claims map[string]any, extra ...map[string]any) string {
	t.Helper()
	header := map[string]any{"alg": k.alg, "typ": "JWT"}
	if k.kid != "" {
		header["kid"] = k.kid
	}
	for _, e := range extra {
		maps.Copy(header, e)
	}
	hj, _ := json.Marshal(header)
	cj, _ := json.Marshal(claims)
	in := b64(hj) + "." + b64(cj)
	if header["alg"] == "none" {
		return in + "."
	}
	return in + "." + b64(k.sign(t, []byte(in)))
}

func jwkOf(t testing.TB, kid string, pub crypto.PublicKey) map[string]any {
	t.Helper()
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		point, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(point) - 1) / 2
		return map[string]any{"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name, "x": b64(point[1 : 1+size]), "y": b64(point[1+size:])}
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(k)}
	}
	t.Fatalf("no JWK for %T", pub)
	return nil
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// oauthEnv is an Authenticator for OAUTHBEARER over a JWKS file of the
// test keys, at a fixed time.
type oauthEnv struct {
	a     *Authenticator
	clock *fixedClock
	jwks  string
	keys  map[string]testKey // by algorithm
}

var now0 = time.Unix(1_700_000_000, 0)

func newOAuthEnv(t testing.TB, cfg OAuthConfig) *oauthEnv {
	t.Helper()
	testKeys(t)
	e := &oauthEnv{clock: &fixedClock{now0}, jwks: filepath.Join(t.TempDir(), "jwks.json"), keys: map[string]testKey{}}
	for _, k := range []testKey{
		{"RS256", "rsa", rsaPriv}, {"RS384", "rsa", rsaPriv}, {"RS512", "rsa", rsaPriv},
		{"PS256", "rsa", rsaPriv}, {"PS384", "rsa", rsaPriv}, {"PS512", "rsa", rsaPriv},
		{"ES256", "ec", ecPriv}, {"ES384", "ec384", ec384}, {"EdDSA", "ed", edPriv},
	} {
		e.keys[k.alg] = k
	}
	writeJSON(t, e.jwks, map[string]any{"keys": []any{
		jwkOf(t, "rsa", rsaPriv.Public()), jwkOf(t, "ec", ecPriv.Public()),
		jwkOf(t, "ec384", ec384.Public()), jwkOf(t, "ed", edPriv.Public()),
		map[string]any{"kty": "oct", "kid": "hmac", "k": b64([]byte("a shared secret"))},
		map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
	}})
	if cfg.JWKSFile == "" && cfg.PublicKeyFile == "" && !cfg.Unsecured {
		cfg.JWKSFile = e.jwks
	}
	e.a = mustNew(t, Config{Mechanisms: []string{MechanismOAuthBearer}, OAuth: cfg, Now: e.clock.Now})
	return e
}

// claims are valid claims for now0 with changes (nil deletes a claim).
func claims(changes map[string]any) map[string]any {
	c := map[string]any{"sub": "alice", "iat": now0.Unix() - 60, "exp": now0.Unix() + 3600, "iss": "https://issuer", "aud": "kafka"}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func initialResponse(token string) []byte { return []byte("n,,\x01auth=Bearer " + token + "\x01\x01") }

// wantValid runs an exchange that must succeed as principal.
func wantValid(t *testing.T, a *Authenticator, token, principal string, exp time.Time) {
	t.Helper()
	s := mustStart(t, a, MechanismOAuthBearer)
	reply, done, err := s.Step(ctx, initialResponse(token))
	if err != nil || !done || len(reply) != 0 {
		t.Fatalf("got %q, done %v, %v", reply, done, err)
	}
	if s.Principal() != principal || !s.Expiry().Equal(exp) {
		t.Fatalf("principal %q expiry %v; want %q, %v", s.Principal(), s.Expiry(), principal, exp)
	}
}

// wantInvalidToken runs RFC 7628's failure: the error JSON, the client's
// "\x01", then a refusal quoting it and the reason.
func wantInvalidToken(t *testing.T, a *Authenticator, token, reason string) {
	t.Helper()
	s := mustStart(t, a, MechanismOAuthBearer)
	reply, done, err := s.Step(ctx, initialResponse(token))
	if err != nil || done || string(reply) != `{"status":"invalid_token"}` {
		t.Fatalf("got %q, done %v, %v; want the invalid_token JSON", reply, done, err)
	}
	_, done, err = s.Step(ctx, []byte("\x01"))
	if done {
		t.Fatal("the exchange finished after an invalid token")
	}
	wantRefused(t, s, err, "invalid_token")
	wantRefused(t, s, err, reason)
	if _, _, err := s.Step(ctx, []byte("\x01")); !errors.Is(err, ErrIllegalSaslState) {
		t.Fatalf("step after the end: %v", err)
	}
}

func TestOAuthSignedTokens(t *testing.T) {
	e := newOAuthEnv(t, OAuthConfig{ExpectedIssuer: "https://issuer", ExpectedAudience: []string{"other", "kafka"}})
	exp := time.Unix(now0.Unix()+3600, 0)
	for alg, k := range e.keys {
		t.Run(alg, func(t *testing.T) {
			wantValid(t, e.a, k.token(t, claims(nil)), "User:alice", exp)
		})
	}
	rs := e.keys["RS256"]
	t.Run("audience list", func(t *testing.T) {
		wantValid(t, e.a, rs.token(t, claims(map[string]any{"aud": []string{"x", "kafka"}})), "User:alice", exp)
	})
	t.Run("fractional exp", func(t *testing.T) {
		wantValid(t, e.a, rs.token(t, claims(map[string]any{"exp": float64(now0.Unix()) + 10.5})), "User:alice", now0.Add(10500*time.Millisecond))
	})
	t.Run("no kid", func(t *testing.T) {
		wantValid(t, e.a, rs.token(t, claims(nil), map[string]any{"kid": nil}), "User:alice", exp)
	})
	t.Run("within the clock skew", func(t *testing.T) {
		wantValid(t, e.a, rs.token(t, claims(map[string]any{"exp": now0.Unix() - 29})), "User:alice", now0.Add(-29*time.Second))
		wantValid(t, e.a, rs.token(t, claims(map[string]any{"nbf": now0.Unix() + 29, "iat": now0.Unix() + 29})), "User:alice", exp)
	})

	forged := testKey{"RS256", "rsa", rsaOther}
	for _, tc := range []struct {
		name, token, reason string
	}{
		{"expired", rs.token(t, claims(map[string]any{"exp": now0.Unix() - 31})), "token expired"},
		{"no exp", rs.token(t, claims(map[string]any{"exp": nil})), "no exp claim"},
		{"exp not a number", rs.token(t, claims(map[string]any{"exp": "tomorrow"})), "not numeric dates"},
		{"exp out of range", rs.token(t, claims(map[string]any{"exp": 1e300})), "not numeric dates"},
		{"not valid yet", rs.token(t, claims(map[string]any{"nbf": now0.Unix() + 31})), "not valid yet"},
		{"no iat", rs.token(t, claims(map[string]any{"iat": nil})), "no iat claim"},
		{"issued in the future", rs.token(t, claims(map[string]any{"iat": now0.Unix() + 31})), "issued in the future"},
		{"expires before issued", rs.token(t, claims(map[string]any{"iat": now0.Unix() + 10, "exp": now0.Unix() + 5})), "expires before"},
		{"wrong issuer", rs.token(t, claims(map[string]any{"iss": "https://evil"})), "issuer"},
		{"no issuer", rs.token(t, claims(map[string]any{"iss": nil})), "issuer"},
		{"wrong audience", rs.token(t, claims(map[string]any{"aud": "mail"})), "audience"},
		{"wrong audiences", rs.token(t, claims(map[string]any{"aud": []string{"mail", "web"}})), "audience"},
		{"no audience", rs.token(t, claims(map[string]any{"aud": nil})), "audience"},
		{"no subject", rs.token(t, claims(map[string]any{"sub": nil})), "sub claim"},
		{"empty subject", rs.token(t, claims(map[string]any{"sub": ""})), "sub claim"},
		{"numeric subject", rs.token(t, claims(map[string]any{"sub": 7})), "sub claim"},
		{"bad signature", forged.token(t, claims(nil)), "signature does not verify"},
		{"signature of other claims", func() string {
			good := strings.Split(rs.token(t, claims(nil)), ".")
			other := strings.Split(rs.token(t, claims(map[string]any{"sub": "admin"})), ".")
			return good[0] + "." + other[1] + "." + good[2]
		}(), "signature does not verify"},
		{"truncated signature", func() string {
			parts := strings.Split(rs.token(t, claims(nil)), ".")
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			return parts[0] + "." + parts[1] + "." + b64(sig[:len(sig)-1])
		}(), "signature does not verify"},
		{"unknown kid", rs.token(t, claims(nil), map[string]any{"kid": "nope"}), "no key matches"},
		{"key of another type", rs.token(t, claims(nil), map[string]any{"kid": "ec"}), "signature does not verify"},
		{"ES256 on a P-384 key", e.keys["ES384"].token(t, claims(nil), map[string]any{"alg": "ES256"}), "signature does not verify"},
		{"HS256 with the oct key", rs.token(t, claims(nil), map[string]any{"alg": "HS256", "kid": "hmac"}), "unsupported signature algorithm"},
		{"alg none", rs.token(t, claims(nil), map[string]any{"alg": "none"}), "unsecured tokens are not accepted"},
		{"critical extension", rs.token(t, claims(nil), map[string]any{"crit": []string{"exp"}}), "critical"},
		{"two parts", "eyJhbGciOiJub25lIn0.e30", "not a JWS"},
		{"not base64", "a.b.c", "malformed token"},
		{"header not JSON", b64([]byte("nope")) + "." + b64([]byte("{}")) + ".", "malformed token"},
		{"claims not an object", rs.token(t, nil), "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantInvalidToken(t, e.a, tc.token, tc.reason) })
	}
}

// Kafka's unsecured validator, as franz-go's TestOAuthAuth uses it: an
// {"alg":"none"} header, the claims and an empty signature.
func TestOAuthUnsecured(t *testing.T) {
	e := newOAuthEnv(t, OAuthConfig{Unsecured: true})
	unsigned := func(c map[string]any) string {
		return b64([]byte(`{"alg":"none"}`)) + "." + b64(mustJSON(t, c)) + "."
	}
	exp := now0.Add(time.Hour)
	wantValid(t, e.a, unsigned(map[string]any{"sub": "admin", "exp": exp.Unix()}), "User:admin", exp)
	wantInvalidToken(t, e.a, unsigned(map[string]any{"sub": "admin", "exp": now0.Add(-time.Minute).Unix()}), "token expired")
	wantInvalidToken(t, e.a, unsigned(map[string]any{"sub": "admin"}), "no exp claim")
	wantInvalidToken(t, e.a, unsigned(map[string]any{"exp": exp.Unix()}), "sub claim")
	wantInvalidToken(t, e.a, unsigned(map[string]any{"sub": "admin", "exp": exp.Unix()})+"c2ln", "has a signature")
	// No key file is configured: signed tokens have no key to match.
	wantInvalidToken(t, e.a, e.keys["RS256"].token(t, claims(nil)), "no key matches")

	// The same token through franz-go's client, as its TestOAuthAuth.
	s := mustStart(t, e.a, MechanismOAuthBearer)
	if err := exchange(t, oauth.Auth{Token: unsigned(map[string]any{"sub": "admin", "exp": exp.Unix()})}.AsMechanism(), s); err != nil {
		t.Fatal(err)
	}
	s = mustStart(t, e.a, MechanismOAuthBearer)
	err := exchange(t, oauth.Auth{Token: unsigned(map[string]any{"sub": "admin", "exp": now0.Add(-time.Minute).Unix()})}.AsMechanism(), s)
	wantRefused(t, s, err, "invalid_token")
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOAuthPrincipalClaimAndAuthzid(t *testing.T) {
	e := newOAuthEnv(t, OAuthConfig{PrincipalClaim: "preferred_username", ClockSkew: time.Second})
	rs := e.keys["RS256"]
	tok := rs.token(t, claims(map[string]any{"preferred_username": "bob"}))
	wantValid(t, e.a, tok, "User:bob", now0.Add(time.Hour))
	wantInvalidToken(t, e.a, rs.token(t, claims(nil)), "preferred_username claim")
	wantInvalidToken(t, e.a, rs.token(t, claims(map[string]any{"preferred_username": "bob", "exp": now0.Unix() - 1})), "token expired")

	s := mustStart(t, e.a, MechanismOAuthBearer)
	if _, done, err := s.Step(ctx, []byte("n,a=bob,\x01auth=Bearer "+tok+"\x01\x01")); err != nil || !done {
		t.Fatalf("authorization id of the principal itself: %v, %v", done, err)
	}
	s = mustStart(t, e.a, MechanismOAuthBearer)
	_, _, err := s.Step(ctx, []byte("n,a=alice,\x01auth=Bearer "+tok+"\x01\x01"))
	wantRefused(t, s, err, "authorization id differs")
}

func TestOAuthInitialResponse(t *testing.T) {
	e := newOAuthEnv(t, OAuthConfig{})
	tok := e.keys["ES256"].token(t, claims(nil))
	for _, tc := range []struct {
		msg  string
		want string // "" for success, else the refusal's reason
	}{
		{"n,,\x01auth=Bearer " + tok + "\x01\x01", ""},
		{"n,,\x01auth=bearer   " + tok + "\x01\x01", ""},
		{"n,,\x01host=kafka\x01auth=Bearer " + tok + "\x01port=9092\x01\x01", ""},
		{"n,,\x01auth=Bearer " + tok + "\x01auth=Bearer " + tok + "\x01\x01", "auth twice"},
		{"n,,\x01host=kafka\x01\x01", "no bearer token"},
		{"n,,\x01auth=Basic " + tok + "\x01\x01", "no bearer token"},
		{"n,,\x01auth=Bearer\x01\x01", "no bearer token"},
		{"n,,\x01auth=Bearer " + tok + "=\x01\x01", "no bearer token"},
		{"n,,\x01auth=Bearer " + tok + "\x01", "malformed OAUTHBEARER message"},
		{"n,,auth=Bearer " + tok + "\x01\x01", "malformed OAUTHBEARER message"},
		{"n,,\x01\x01", "malformed OAUTHBEARER message"},
		{"n,,\x01\x01\x01", "key-value pair"},
		{"n,,\x01auth=Bearer " + tok + "\x01b@d=1\x01\x01", "key-value pair"},
		{"n,,\x01auth=Bearer " + tok + "\x01k=\x00\x01\x01", "key-value pair"},
		{"n,,\x01noequals\x01\x01", "key-value pair"},
		{"p=tls-unique,,\x01auth=Bearer " + tok + "\x01\x01", "channel binding"},
		{"y,,\x01auth=Bearer " + tok + "\x01\x01", "channel binding"},
		{"\x01auth=Bearer " + tok + "\x01\x01", "GS2 header"},
		{"n,,\x01auth=Bearer " + tok + strings.Repeat("a", maxOAuthMessage) + "\x01\x01", "too long"},
	} {
		t.Run(fmt.Sprintf("%.50q", tc.msg), func(t *testing.T) {
			s := mustStart(t, e.a, MechanismOAuthBearer)
			_, done, err := s.Step(ctx, []byte(tc.msg))
			if tc.want == "" {
				if err != nil || !done {
					t.Fatalf("got %v, %v", done, err)
				}
				return
			}
			wantRefused(t, s, err, tc.want)
		})
	}
}

// A JWKS file is read again when it changes: a rotated-in key verifies at
// once, and a broken version leaves the last good keys in place.
func TestOAuthJWKSReload(t *testing.T) {
	e := newOAuthEnv(t, OAuthConfig{})
	newKey := testKey{"RS256", "rotated", rsaOther}
	wantInvalidToken(t, e.a, newKey.token(t, claims(nil)), "no key matches")

	writeJSON(t, e.jwks, map[string]any{"keys": []any{jwkOf(t, "rotated", rsaOther.Public())}})
	touch(t, e.jwks, 1)
	wantValid(t, e.a, newKey.token(t, claims(nil)), "User:alice", now0.Add(time.Hour))
	wantInvalidToken(t, e.a, e.keys["RS256"].token(t, claims(nil)), "no key matches")

	if err := os.WriteFile(e.jwks, []byte(`{"keys": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	touch(t, e.jwks, 2)
	wantValid(t, e.a, newKey.token(t, claims(nil)), "User:alice", now0.Add(time.Hour))
}

// touch sets a file's modification time n seconds ahead, so that a
// rewrite within the file system's time granularity still counts.
func touch(t *testing.T, path string, n int) {
	t.Helper()
	mt := time.Now().Add(time.Duration(n) * time.Second)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func TestOAuthPublicKeyFile(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	spki, err := x509.MarshalPKIXPublicKey(ecPriv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(dir, "issuer.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaPriv.PublicKey)})...)
	if err := os.WriteFile(pemFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newOAuthEnv(t, OAuthConfig{PublicKeyFile: pemFile})
	// PEM keys have no kid: they match whatever kid a token names.
	wantValid(t, e.a, e.keys["ES256"].token(t, claims(nil)), "User:alice", now0.Add(time.Hour))
	wantValid(t, e.a, e.keys["PS256"].token(t, claims(nil)), "User:alice", now0.Add(time.Hour))
	wantInvalidToken(t, e.a, e.keys["EdDSA"].token(t, claims(nil)), "signature does not verify")
}

func TestOAuthConfigErrors(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallJWKS, _ := json.Marshal(map[string]any{"keys": []any{jwkOf(t, "small", small.Public())}})
	badEC := jwkOf(t, "ec", ecPriv.Public())
	badEC["y"] = badEC["x"]
	badECJWKS, _ := json.Marshal(map[string]any{"keys": []any{badEC}})
	priv, _ := x509.MarshalPKCS8PrivateKey(ecPriv)
	for _, tc := range []struct {
		name string
		cfg  OAuthConfig
		want string
	}{
		{"no key source", OAuthConfig{}, "no JWKS file"},
		{"missing file", OAuthConfig{JWKSFile: filepath.Join(dir, "nope.json")}, "no such file"},
		{"not JSON", OAuthConfig{JWKSFile: file("bad.json", "{")}, "parse JWKS"},
		{"only symmetric keys", OAuthConfig{JWKSFile: file("oct.json", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)}, "no RSA, EC or Ed25519"},
		{"small RSA key", OAuthConfig{JWKSFile: file("small.json", string(smallJWKS))}, "1024 bits"},
		{"point off the curve", OAuthConfig{JWKSFile: file("badec.json", string(badECJWKS))}, "EC key"},
		{"unknown curve", OAuthConfig{JWKSFile: file("crv.json", `{"keys":[{"kty":"EC","crv":"P-192","x":"AA","y":"AA"}]}`)}, "curve"},
		{"private key PEM", OAuthConfig{PublicKeyFile: file("priv.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})))}, "not a public key"},
		{"empty PEM", OAuthConfig{PublicKeyFile: file("empty.pem", "")}, "no PEM public key"},
		{"negative skew", OAuthConfig{Unsecured: true, ClockSkew: -time.Second}, "negative clock skew"},
		{"empty audience", OAuthConfig{Unsecured: true, ExpectedAudience: []string{""}}, "audience is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Mechanisms: []string{MechanismOAuthBearer}, OAuth: tc.cfg})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
