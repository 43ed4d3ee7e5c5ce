package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	_ "crypto/sha256" // the hashes of the RS, PS and ES algorithms
	_ "crypto/sha512"
)

// defaultClockSkew is Kafka's sasl.oauthbearer.clock.skew.seconds.
const defaultClockSkew = 30 * time.Second

// tokenVerifier checks JWT access tokens (RFC 7519) signed with JWS (RFC
// 7515), and unsigned ones when the configuration allows them.
type tokenVerifier struct {
	cfg   OAuthConfig // with defaults filled in
	now   func() time.Time
	files []*keyFile
}

// verifiedToken is what a valid token establishes.
type verifiedToken struct {
	principal string // the principal claim's value
	expiry    time.Time
}

func newTokenVerifier(c OAuthConfig, now func() time.Time, log *slog.Logger) (*tokenVerifier, error) {
	if c.PrincipalClaim == "" {
		c.PrincipalClaim = "sub"
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = defaultClockSkew
	}
	if c.ClockSkew < 0 {
		return nil, fmt.Errorf("negative clock skew %v", c.ClockSkew)
	}
	if slices.Contains(c.ExpectedAudience, "") {
		return nil, errors.New("an expected audience is empty")
	}
	v := &tokenVerifier{cfg: c, now: now}
	for _, src := range []struct {
		path  string
		parse func([]byte) ([]verificationKey, error)
	}{{c.JWKSFile, parseJWKS}, {c.PublicKeyFile, parsePEMKeys}} {
		if src.path == "" {
			continue
		}
		f, err := newKeyFile(src.path, src.parse, log)
		if err != nil {
			return nil, err
		}
		v.files = append(v.files, f)
	}
	if len(v.files) == 0 && !c.Unsecured {
		return nil, errors.New("no JWKS file or public key file is given, and unsecured tokens are off")
	}
	return v, nil
}

// jwsAlgorithm verifies one JWS "alg" (RFC 7518 section 3, RFC 8037).
// verify reports false for a key of another type.
type jwsAlgorithm func(key crypto.PublicKey, signingInput, sig []byte) bool

var jwsAlgorithms = map[string]jwsAlgorithm{
	"RS256": rsaPKCS1(crypto.SHA256), "RS384": rsaPKCS1(crypto.SHA384), "RS512": rsaPKCS1(crypto.SHA512),
	"PS256": rsaPSS(crypto.SHA256), "PS384": rsaPSS(crypto.SHA384), "PS512": rsaPSS(crypto.SHA512),
	"ES256": ecdsaP("P-256", crypto.SHA256), "ES384": ecdsaP("P-384", crypto.SHA384), "ES512": ecdsaP("P-521", crypto.SHA512),
	"EdDSA": verifyEd25519,
}

func digest(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

func rsaPKCS1(h crypto.Hash) jwsAlgorithm {
	return func(key crypto.PublicKey, in, sig []byte) bool {
		k, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(k, h, digest(h, in), sig) == nil
	}
}

func rsaPSS(h crypto.Hash) jwsAlgorithm {
	return func(key crypto.PublicKey, in, sig []byte) bool {
		k, ok := key.(*rsa.PublicKey)
		// RFC 7518 section 3.5: the salt is as long as the hash.
		return ok && rsa.VerifyPSS(k, h, digest(h, in), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
}

// ecdsaP verifies JWS's ECDSA signatures: R and S as fixed-size big-endian
// integers, one after the other (RFC 7518 section 3.4), on the curve the
// algorithm names.
func ecdsaP(curve string, h crypto.Hash) jwsAlgorithm {
	return func(key crypto.PublicKey, in, sig []byte) bool {
		k, ok := key.(*ecdsa.PublicKey)
		if !ok || k.Curve.Params().Name != curve {
			return false
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest(h, in), r, s)
	}
}

func verifyEd25519(key crypto.PublicKey, in, sig []byte) bool {
	k, ok := key.(ed25519.PublicKey)
	return ok && ed25519.Verify(k, in, sig)
}

// jwsHeader is the part of a JOSE header that is checked.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	// Crit names extensions the verifier must understand; it knows none.
	Crit json.RawMessage `json:"crit"`
}

// verify checks token's signature, then its claims. Its errors are reasons
// for the client: they describe the token it sent, never a key.
func (v *tokenVerifier) verify(token string) (verifiedToken, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return verifiedToken{}, errors.New("token is not a JWS in compact form")
	}
	rawHeader, errH := b64url(parts[0])
	payload, errP := b64url(parts[1])
	sig, errS := b64url(parts[2])
	var h jwsHeader
	if errH != nil || errP != nil || errS != nil || json.Unmarshal(rawHeader, &h) != nil {
		return verifiedToken{}, errors.New("malformed token")
	}
	if h.Crit != nil {
		return verifiedToken{}, errors.New("token header names critical extensions")
	}
	signed := h.Alg != "none"
	if err := v.checkSignature(h, parts[0]+"."+parts[1], sig); err != nil {
		return verifiedToken{}, err
	}
	return v.checkClaims(payload, signed)
}

func (v *tokenVerifier) checkSignature(h jwsHeader, signingInput string, sig []byte) error {
	if h.Alg == "none" {
		switch {
		case !v.cfg.Unsecured:
			return errors.New("unsecured tokens are not accepted")
		case len(sig) != 0:
			return errors.New("unsecured token has a signature")
		}
		return nil
	}
	alg := jwsAlgorithms[h.Alg]
	if alg == nil {
		return fmt.Errorf("unsupported signature algorithm %q", h.Alg)
	}
	tried := false
	for _, f := range v.files {
		for _, k := range f.current() {
			if k.kid != "" && h.Kid != "" && k.kid != h.Kid || k.alg != "" && k.alg != h.Alg {
				continue
			}
			tried = true
			if alg(k.key, []byte(signingInput), sig) {
				return nil
			}
		}
	}
	if !tried {
		return errors.New("no key matches the token's kid and algorithm")
	}
	return errors.New("token signature does not verify")
}

// checkClaims applies RFC 7519's time claims with the allowed skew, the
// expected issuer and audience, and reads the principal. Kafka requires
// exp of every token and iat of signed ones.
func (v *tokenVerifier) checkClaims(payload []byte, signed bool) (verifiedToken, error) {
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil || claims == nil {
		return verifiedToken{}, errors.New("token claims are not a JSON object")
	}
	now, skew := v.now(), v.cfg.ClockSkew
	exp, hasExp, errE := numericDate(claims["exp"])
	nbf, hasNbf, errN := numericDate(claims["nbf"])
	iat, hasIat, errI := numericDate(claims["iat"])
	switch {
	case errE != nil || errN != nil || errI != nil:
		return verifiedToken{}, errors.New("token time claims are not numeric dates")
	case !hasExp:
		return verifiedToken{}, errors.New("token has no exp claim")
	case !now.Before(exp.Add(skew)):
		return verifiedToken{}, errors.New("token expired")
	case hasNbf && now.Add(skew).Before(nbf):
		return verifiedToken{}, errors.New("token is not valid yet")
	case signed && !hasIat:
		return verifiedToken{}, errors.New("token has no iat claim")
	case hasIat && now.Add(skew).Before(iat):
		return verifiedToken{}, errors.New("token was issued in the future")
	case hasIat && !exp.After(iat):
		return verifiedToken{}, errors.New("token expires before it was issued")
	}
	if err := v.checkIssuerAndAudience(claims); err != nil {
		return verifiedToken{}, err
	}
	var name string
	if json.Unmarshal(claims[v.cfg.PrincipalClaim], &name) != nil || name == "" {
		return verifiedToken{}, fmt.Errorf("token's %s claim is not a non-empty string", v.cfg.PrincipalClaim)
	}
	return verifiedToken{principal: name, expiry: exp}, nil
}

func (v *tokenVerifier) checkIssuerAndAudience(claims map[string]json.RawMessage) error {
	if v.cfg.ExpectedIssuer != "" {
		var iss string
		if json.Unmarshal(claims["iss"], &iss) != nil || iss != v.cfg.ExpectedIssuer {
			return errors.New("token issuer is not the expected one")
		}
	}
	if len(v.cfg.ExpectedAudience) > 0 {
		// aud is one string or an array of them (RFC 7519 section 4.1.3).
		var auds []string
		if raw := claims["aud"]; json.Unmarshal(raw, &auds) != nil {
			var one string
			if json.Unmarshal(raw, &one) != nil {
				return errors.New("token has no audience")
			}
			auds = []string{one}
		}
		if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(v.cfg.ExpectedAudience, a) }) {
			return errors.New("token audience is not an expected one")
		}
	}
	return nil
}

// maxNumericDate is the last second of year 9999; later dates are
// refused rather than overflow.
const maxNumericDate = 253402300799

// numericDate reads RFC 7519's NumericDate, seconds since the epoch that
// may have a fraction. A claim that is absent gives ok false.
func numericDate(raw json.RawMessage) (t time.Time, ok bool, err error) {
	if raw == nil {
		return time.Time{}, false, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, true, err
	}
	if f < 0 || f > maxNumericDate {
		return time.Time{}, true, errors.New("date out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}
