package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"sync"
	"time"
)

// minRSABits is the smallest RSA key accepted, as RFC 7518 section 3.3
// requires of RS* and PS* keys.
const minRSABits = 2048

// verificationKey is one public key that may verify token signatures.
type verificationKey struct {
	kid string // "" matches any token's kid
	alg string // "" allows any algorithm of the key's type
	key crypto.PublicKey
}

// keyFile is a file of verification keys, read again when its size or
// modification time changes. A version that fails to load leaves the last
// good keys in place (a half-written file must not lock everyone out) and
// is reported once.
type keyFile struct {
	path  string
	parse func([]byte) ([]verificationKey, error)
	log   *slog.Logger

	mu   sync.Mutex
	keys []verificationKey
	// seen is the version last read, good or bad.
	seenMod  time.Time
	seenSize int64
}

func newKeyFile(path string, parse func([]byte) ([]verificationKey, error), log *slog.Logger) (*keyFile, error) {
	f := &keyFile{path: path, parse: parse, log: log}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if err := f.load(fi); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *keyFile) load(fi os.FileInfo) error {
	f.seenMod, f.seenSize = fi.ModTime(), fi.Size()
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("read key file: %w", err)
	}
	keys, err := f.parse(data)
	if err != nil {
		return fmt.Errorf("key file %s: %w", f.path, err)
	}
	f.keys = keys
	return nil
}

// current returns the file's keys, reading it again first if it changed.
// A stat per authentication is cheap next to a signature check.
func (f *keyFile) current() []verificationKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil || fi.ModTime().Equal(f.seenMod) && fi.Size() == f.seenSize {
		return f.keys
	}
	if err := f.load(fi); err != nil {
		f.log.Warn("reload OAUTHBEARER keys; keeping the previous ones", "err", err)
	} else {
		f.log.Info("reloaded OAUTHBEARER keys", "file", f.path, "keys", len(f.keys))
	}
	return f.keys
}

// jwk is the part of a JSON Web Key (RFC 7517, RFC 7518 section 6, RFC
// 8037) that public signing keys use.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads a key set's signing keys. Keys for encryption and
// symmetric keys are skipped: an "oct" key would let anyone who reads the
// file sign tokens. A malformed signing key fails the whole file.
func parseJWKS(data []byte) ([]verificationKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	var keys []verificationKey
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var (
			pub crypto.PublicKey
			err error
		)
		switch k.Kty {
		case "RSA":
			pub, err = rsaFromJWK(k)
		case "EC":
			pub, err = ecdsaFromJWK(k)
		case "OKP":
			pub, err = ed25519FromJWK(k)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, k.Kid, err)
		}
		keys = append(keys, verificationKey{kid: k.Kid, alg: k.Alg, key: pub})
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS holds no RSA, EC or Ed25519 signing key")
	}
	return keys, nil
}

func rsaFromJWK(k jwk) (crypto.PublicKey, error) {
	n, errN := b64url(k.N)
	e, errE := b64url(k.E)
	if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("malformed RSA modulus or exponent")
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	return pub, checkPublicKey(pub)
}

var jwkCurves = map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}

func ecdsaFromJWK(k jwk) (crypto.PublicKey, error) {
	curve := jwkCurves[k.Crv]
	if curve == nil {
		return nil, fmt.Errorf("unsupported EC curve %q", k.Crv)
	}
	x, errX := b64url(k.X)
	y, errY := b64url(k.Y)
	size := (curve.Params().BitSize + 7) / 8
	if errX != nil || errY != nil || len(x) != size || len(y) != size {
		return nil, errors.New("malformed EC coordinates")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("EC key: %w", err)
	}
	return pub, nil
}

func ed25519FromJWK(k jwk) (crypto.PublicKey, error) {
	x, err := b64url(k.X)
	if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("unsupported or malformed OKP key (crv %q)", k.Crv)
	}
	return ed25519.PublicKey(x), nil
}

// parsePEMKeys reads public keys ("PUBLIC KEY", "RSA PUBLIC KEY") and
// certificates, whose keys are taken as they are: the file says whom to
// trust, so chains and validity dates are not checked.
func parsePEMKeys(data []byte) ([]verificationKey, error) {
	var keys []verificationKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			pub crypto.PublicKey
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM block %q is not a public key or a certificate", block.Type)
		}
		if err == nil {
			err = checkPublicKey(pub)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM key %d: %w", len(keys), err)
		}
		keys = append(keys, verificationKey{key: pub})
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key or certificate")
	}
	return keys, nil
}

// checkPublicKey refuses key types and sizes no supported algorithm uses.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits; at least %d are needed", k.N.BitLen(), minRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return fmt.Errorf("RSA public exponent %d is invalid", k.E)
		}
		return nil
	case *ecdsa.PublicKey:
		if jwkCurves[k.Curve.Params().Name] == nil {
			return fmt.Errorf("unsupported EC curve %s", k.Curve.Params().Name)
		}
		return nil
	case ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("unsupported key type %T", pub)
}

// b64url decodes unpadded base64url, as JOSE writes it (RFC 7515 section 2).
func b64url(s string) ([]byte, error) { return base64.RawURLEncoding.Strict().DecodeString(s) }
