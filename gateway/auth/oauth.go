package auth

import (
	"context"
	"strings"
	"time"
)

// OAuthConfig configures OAUTHBEARER (RFC 7628) with JWT access tokens.
// Kafka's names for the same settings are in the comments.
type OAuthConfig struct {
	// JWKSFile is a JSON Web Key Set (RFC 7517) whose RSA, EC and OKP
	// (Ed25519) signing keys verify tokens (a file:// JWKS endpoint URL in
	// Kafka). It is read again when it changes, so keys rotate without a
	// restart.
	JWKSFile string
	// PublicKeyFile is a PEM file of the issuer's public keys or
	// certificates, instead of or beside a JWKS file; reloaded likewise.
	PublicKeyFile string
	// ExpectedIssuer, when set, must be the token's iss
	// (sasl.oauthbearer.expected.issuer).
	ExpectedIssuer string
	// ExpectedAudience, when set, must hold one of the token's aud
	// values (sasl.oauthbearer.expected.audience).
	ExpectedAudience []string
	// PrincipalClaim names the claim that holds the principal's name;
	// "sub" when empty (sasl.oauthbearer.sub.claim.name).
	PrincipalClaim string
	// ClockSkew is the difference allowed between the issuer's clock and
	// this one; 30 s when zero (sasl.oauthbearer.clock.skew.seconds).
	ClockSkew time.Duration
	// Unsecured accepts unsigned tokens ("alg":"none") as Kafka's
	// unsecured validator does, for development only: anyone can then
	// claim to be anyone. Their exp and principal claim are still checked.
	Unsecured bool
}

// maxOAuthMessage bounds an OAUTHBEARER client message; tokens with many
// claims stay well below it.
const maxOAuthMessage = 64 << 10

// invalidToken is RFC 7628's error reply to a token the server refuses
// (section 3.2.2); Kafka sends nothing else in it either.
const invalidToken = `{"status":"invalid_token"}`

// oauthSession validates the token of RFC 7628's client initial response.
// A refused token is answered with the error JSON; the client then sends
// "\x01" and the exchange fails, quoting the JSON, as Kafka's does.
type oauthSession struct {
	v     *tokenVerifier
	state oauthState
	// why is the refused token's reason, told after the JSON.
	why       string
	principal string
	expiry    time.Time
}

type oauthState int

const (
	oauthAwaitInitial oauthState = iota
	oauthAwaitAck                // the error JSON was sent
	oauthEnded
)

func (s *oauthSession) Step(_ context.Context, msg []byte) ([]byte, bool, error) {
	state := s.state
	s.state = oauthEnded
	switch state {
	case oauthAwaitInitial:
		return s.validate(msg)
	case oauthAwaitAck:
		return nil, false, refused(invalidToken + " (" + s.why + ")")
	}
	return nil, false, ErrIllegalSaslState
}

func (s *oauthSession) validate(msg []byte) ([]byte, bool, error) {
	authz, token, err := parseInitialResponse(msg)
	if err != nil {
		return nil, false, err
	}
	tok, err := s.v.verify(token)
	if err != nil {
		s.state, s.why = oauthAwaitAck, err.Error()
		return []byte(invalidToken), false, nil
	}
	if authz != "" && authz != tok.principal {
		return nil, false, refused("authorization id differs from the token's principal")
	}
	s.principal, s.expiry = principal(tok.principal), tok.expiry
	return []byte{}, true, nil
}

func (s *oauthSession) Principal() string { return s.principal }
func (s *oauthSession) Expiry() time.Time { return s.expiry }

// parseInitialResponse reads RFC 7628's client initial response,
//
//	gs2-header %x01 *(key "=" value %x01) %x01
//
// which holds "auth=Bearer <token>" and may hold other key-value pairs,
// which are ignored (as Kafka's default validators do).
func parseInitialResponse(msg []byte) (authz, token string, err error) {
	if len(msg) > maxOAuthMessage {
		return "", "", refused("OAUTHBEARER message too long")
	}
	_, authz, body, err := parseGS2Header(string(msg), "OAUTHBEARER")
	if err != nil {
		return "", "", err
	}
	kvs, ok := strings.CutPrefix(body, "\x01")
	kvs, ok2 := strings.CutSuffix(kvs, "\x01\x01")
	if !ok || !ok2 {
		return "", "", refused("malformed OAUTHBEARER message")
	}
	var auth string
	for _, kv := range strings.Split(kvs, "\x01") {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || !validKey(key) || !validValue(value) {
			return "", "", refused("malformed OAUTHBEARER key-value pair")
		}
		if key == "auth" {
			if auth != "" {
				return "", "", refused("OAUTHBEARER message holds auth twice")
			}
			auth = value
		}
	}
	if token, ok = bearerToken(auth); !ok {
		return "", "", refused("OAUTHBEARER message holds no bearer token")
	}
	return authz, token, nil
}

// bearerToken reads "Bearer <token>" (RFC 6750 section 2.1), the scheme
// in any case, the token in the characters a JWT uses (as Kafka).
func bearerToken(auth string) (string, bool) {
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return "", false
		}
	}
	return token, true
}

// validKey: 1*ALPHA.
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// validValue: *(VCHAR / SP / HTAB / CR / LF).
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x21 || c > 0x7e) && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
