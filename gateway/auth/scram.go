package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caudal/caudal/metadata"
)

// scramHash is one SCRAM mechanism's hash function (RFC 5802, RFC 7677).
type scramHash struct {
	mechanism string
	new       func() hash.Hash
	size      int
}

var (
	scramSHA256 = &scramHash{MechanismScramSHA256, sha256.New, sha256.Size}
	scramSHA512 = &scramHash{MechanismScramSHA512, sha512.New, sha512.Size}
	scramHashes = map[string]*scramHash{MechanismScramSHA256: scramSHA256, MechanismScramSHA512: scramSHA512}
)

func (h *scramHash) hmac(key []byte, parts ...string) []byte {
	m := hmac.New(h.new, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func (h *scramHash) sum(b []byte) []byte {
	d := h.new()
	d.Write(b)
	return d.Sum(nil)
}

// maxScramMessage bounds a SCRAM client message: a user name and a nonce
// fit many times over, and nothing larger is worth hashing.
const maxScramMessage = 8 << 10

// invalidCredentials is the one reason given for an unknown user and for a
// wrong password alike, so that failures do not tell which users exist.
const invalidCredentials = "invalid user name or password"

// scramSession is the server side of RFC 5802: client-first, then
// server-first, client-final and server-final.
type scramSession struct {
	a     *Authenticator
	h     *scramHash
	state scramState

	user      string
	cred      metadata.ScramCredential
	known     bool   // false: cred is a fake one for a user that does not exist
	gs2Header string // as the client sent it; client-final's c= must repeat it
	nonce     string // the client's nonce and the server's
	// authPrefix is AuthMessage up to client-final-without-proof:
	// client-first-message-bare "," server-first-message ",".
	authPrefix string
	principal  string // set when the proof holds
}

type scramState int

const (
	scramAwaitFirst scramState = iota
	scramAwaitFinal
	scramEnded
)

func (s *scramSession) Step(ctx context.Context, msg []byte) ([]byte, bool, error) {
	state := s.state
	s.state = scramEnded // a failed step ends the exchange too
	switch state {
	case scramAwaitFirst:
		reply, err := s.serverFirst(ctx, msg)
		if err != nil {
			return nil, false, err
		}
		s.state = scramAwaitFinal
		return reply, false, nil
	case scramAwaitFinal:
		reply, err := s.serverFinal(msg)
		return reply, err == nil, err
	}
	return nil, false, ErrIllegalSaslState
}

func (s *scramSession) Principal() string { return s.principal }

func (s *scramSession) Expiry() time.Time { return time.Time{} }

func (s *scramSession) serverFirst(ctx context.Context, msg []byte) ([]byte, error) {
	cf, err := parseClientFirst(msg)
	if err != nil {
		return nil, err
	}
	cred, err := s.a.store.ScramCredential(ctx, cf.user, s.h.mechanism)
	switch {
	case err == nil:
		s.known = true
	case errors.Is(err, metadata.ErrNotFound):
		// Carry on with a made-up credential: the reply looks like a
		// real user's and the exchange fails only at the proof, as a
		// wrong password does.
		cred = s.a.fakeCredential(s.h, cf.user)
	default:
		return nil, fmt.Errorf("look up SCRAM credential: %w", err)
	}
	s.user, s.cred, s.gs2Header = cf.user, cred, cf.gs2Header
	s.nonce = cf.nonce + s.a.serverNonce()
	first := "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(cred.Salt) + ",i=" + strconv.Itoa(cred.Iterations)
	s.authPrefix = cf.bare + "," + first + ","
	return []byte(first), nil
}

func (s *scramSession) serverFinal(msg []byte) ([]byte, error) {
	cf, err := parseClientFinal(msg, s.h.size)
	if err != nil {
		return nil, err
	}
	if cf.channelBinding != base64.StdEncoding.EncodeToString([]byte(s.gs2Header)) {
		return nil, refused("channel binding data differs from the GS2 header")
	}
	// Kafka's ScramSaslServer checks only that the nonce ends with the
	// agreed one: librdkafka before 2.1 sends its own nonce in front of
	// it again, and the proof still covers exactly what was sent.
	if !strings.HasSuffix(cf.nonce, s.nonce) {
		return nil, refused("nonce differs from the one this exchange agreed")
	}
	authMessage := s.authPrefix + cf.withoutProof
	// ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and the
	// proof holds when H(ClientKey) is the StoredKey.
	clientKey := s.h.hmac(s.cred.StoredKey, authMessage)
	subtle.XORBytes(clientKey, clientKey, cf.proof)
	if subtle.ConstantTimeCompare(s.h.sum(clientKey), s.cred.StoredKey) != 1 || !s.known {
		return nil, refused(invalidCredentials)
	}
	signature := s.h.hmac(s.cred.ServerKey, authMessage)
	s.principal = principal(s.user)
	return []byte("v=" + base64.StdEncoding.EncodeToString(signature)), nil
}

// fakeCredential stands in for a user that does not exist. Its salt is the
// same every time for one user, as a real one is, and no proof matches it.
func (a *Authenticator) fakeCredential(h *scramHash, user string) metadata.ScramCredential {
	return metadata.ScramCredential{
		User:       user,
		Mechanism:  h.mechanism,
		Salt:       scramSHA256.hmac(a.fakeKey, h.mechanism, "\x00", user),
		Iterations: DefaultIterations,
		StoredKey:  make([]byte, h.size),
		ServerKey:  make([]byte, h.size),
	}
}

type clientFirst struct {
	gs2Header string // "n,," or "n,a=<authzid>,"
	bare      string // client-first-message-bare, part of AuthMessage
	user      string
	nonce     string
}

// parseClientFirst reads
//
//	gs2-header [reserved-mext ","] username "," nonce ["," extensions]
//
// accepting only what caudal supports: no channel binding, no extension,
// and an authorization id only when it is the user itself (as Kafka).
func parseClientFirst(msg []byte) (clientFirst, error) {
	if len(msg) > maxScramMessage {
		return clientFirst{}, refused("SCRAM message too long")
	}
	m := string(msg)
	if !utf8.ValidString(m) {
		return clientFirst{}, refused("SCRAM message is not UTF-8")
	}
	header, authz, bare, err := parseGS2Header(m, "SCRAM")
	if err != nil {
		return clientFirst{}, err
	}
	if strings.HasPrefix(bare, "m=") {
		return clientFirst{}, refused("mandatory SCRAM extensions are not supported")
	}
	attrs := strings.Split(bare, ",")
	if len(attrs) > 2 {
		return clientFirst{}, refused("SCRAM extensions are not supported")
	}
	if len(attrs) != 2 {
		return clientFirst{}, refused("malformed SCRAM client-first message")
	}
	user, ok := decodeSaslName(strings.CutPrefix(attrs[0], "n="))
	if !ok {
		return clientFirst{}, refused("malformed SCRAM user name")
	}
	nonce, ok := strings.CutPrefix(attrs[1], "r=")
	if !ok || !validNonce(nonce) {
		return clientFirst{}, refused("malformed SCRAM nonce")
	}
	if authz != "" && authz != user {
		return clientFirst{}, refused("authorization id differs from the user name")
	}
	return clientFirst{gs2Header: header, bare: bare, user: user, nonce: nonce}, nil
}

// parseGS2Header splits RFC 5802's GS2 header, "n," ["a=" saslname] ",",
// from the rest of m. Channel binding ("p=" and "y") is refused, as Kafka
// refuses it: caudal offers no -PLUS mechanism.
func parseGS2Header(m, mechanism string) (header, authz, rest string, err error) {
	if strings.HasPrefix(m, "p=") || strings.HasPrefix(m, "y,") {
		return "", "", "", refused(mechanism + " channel binding is not supported")
	}
	after, ok := strings.CutPrefix(m, "n,")
	authzAttr, rest, found := strings.Cut(after, ",")
	if !ok || !found {
		return "", "", "", refused("malformed " + mechanism + " GS2 header")
	}
	if authzAttr != "" {
		v, ok := strings.CutPrefix(authzAttr, "a=")
		if authz, ok = decodeSaslName(v, ok); !ok {
			return "", "", "", refused("malformed " + mechanism + " authorization id")
		}
	}
	return m[:len(m)-len(rest)], authz, rest, nil
}

// decodeSaslName undoes RFC 5802's escaping of ',' as "=2C" and '=' as
// "=3D"; any other '=' or an empty name is malformed. ok passes a
// CutPrefix's result through.
func decodeSaslName(s string, ok bool) (string, bool) {
	if !ok || s == "" || strings.ContainsRune(s, 0) {
		return "", false
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '=')
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		s = s[i+3:]
	}
}

// validNonce: printable ASCII but ',' (RFC 5802 section 7).
func validNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

type clientFinal struct {
	channelBinding string // base64, as sent
	nonce          string
	proof          []byte
	withoutProof   string // client-final-message-without-proof, part of AuthMessage
}

// parseClientFinal reads "c=" cbind-input "," "r=" nonce "," "p=" proof,
// refusing extensions, with a proof of the hash's size.
func parseClientFinal(msg []byte, proofSize int) (clientFinal, error) {
	if len(msg) > maxScramMessage {
		return clientFinal{}, refused("SCRAM message too long")
	}
	m := string(msg)
	attrs := strings.Split(m, ",")
	if len(attrs) > 3 && strings.HasPrefix(attrs[len(attrs)-1], "p=") {
		return clientFinal{}, refused("SCRAM extensions are not supported")
	}
	if len(attrs) != 3 {
		return clientFinal{}, refused("malformed SCRAM client-final message")
	}
	cb, okC := strings.CutPrefix(attrs[0], "c=")
	nonce, okR := strings.CutPrefix(attrs[1], "r=")
	p, okP := strings.CutPrefix(attrs[2], "p=")
	if !okC || !okR || !okP {
		return clientFinal{}, refused("malformed SCRAM client-final message")
	}
	proof, err := base64.StdEncoding.Strict().DecodeString(p)
	if err != nil || len(proof) != proofSize {
		return clientFinal{}, refused("malformed SCRAM proof")
	}
	return clientFinal{channelBinding: cb, nonce: nonce, proof: proof, withoutProof: m[:len(m)-len(attrs[2])-1]}, nil
}

// randomNonce is the server's part of a SCRAM nonce: 18 random bytes,
// base64 without commas.
func randomNonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}
