package auth

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/caudal/caudal/metadata"
)

// rfcExchange is a SCRAM test vector: a user's password and salt, the
// nonces, and the four messages.
type rfcExchange struct {
	h                        *scramHash
	password, salt           string
	serverNonce              string
	clientFirst, serverFirst string
	clientFinal, serverFinal string
}

// run replays the vector against a server whose nonce is the vector's.
func (v rfcExchange) run(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString(v.salt)
	salted, err := pbkdf2.Key(v.h.new, v.password, salt, 4096, v.h.size)
	if err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, Config{Store: newMemStore(scramCredential(v.h, "user", salt, salted, 4096)), Mechanisms: []string{MechanismScramSHA256}})
	a.serverNonce = func() string { return v.serverNonce }
	s := &scramSession{a: a, h: v.h}
	reply, done, err := s.Step(ctx, []byte(v.clientFirst))
	if err != nil || done || string(reply) != v.serverFirst {
		t.Fatalf("server-first = %q, %v, %v; want %q", reply, done, err, v.serverFirst)
	}
	reply, done, err = s.Step(ctx, []byte(v.clientFinal))
	if err != nil || !done || string(reply) != v.serverFinal {
		t.Fatalf("server-final = %q, %v, %v; want %q", reply, done, err, v.serverFinal)
	}
	if s.Principal() != "User:user" || !s.Expiry().IsZero() {
		t.Fatalf("principal %q, expiry %v", s.Principal(), s.Expiry())
	}
}

// RFC 7677 section 3: SCRAM-SHA-256, user "user", password "pencil".
func TestRFC7677Vector(t *testing.T) {
	rfcExchange{
		h:           scramSHA256,
		password:    "pencil",
		salt:        "W22ZaJ0SNY7soEsUEjb6gQ==",
		serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	}.run(t)
}

// RFC 5802 section 5 is SCRAM-SHA-1, which caudal does not offer; the
// same server code with SHA-1 plugged in must reproduce it.
func TestRFC5802Vector(t *testing.T) {
	rfcExchange{
		h:           &scramHash{"SCRAM-SHA-1", sha1.New, sha1.Size},
		password:    "pencil",
		salt:        "QSXCR+Q6sek8bf92",
		serverNonce: "3rfcNHYJY1ZVvWVs7j",
		clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	}.run(t)
}

// exchange drives a franz-go client mechanism against a server session
// in memory, as a connection would, and returns the server's error.
func exchange(t *testing.T, client sasl.Mechanism, server Session) error {
	t.Helper()
	cs, msg, err := client.Authenticate(ctx, "gateway:9092")
	if err != nil {
		t.Fatalf("client start: %v", err)
	}
	for range 5 {
		reply, done, err := server.Step(ctx, msg)
		if err != nil {
			return err
		}
		clientDone, next, err := cs.Challenge(reply)
		if err != nil {
			t.Fatalf("client refused the server's %q: %v", reply, err)
		}
		if done {
			if !clientDone {
				t.Fatal("server finished before the client")
			}
			return nil
		}
		msg = next
	}
	t.Fatal("exchange did not finish")
	return nil
}

func scramClient(mechanism string, a scram.Auth) sasl.Mechanism {
	if mechanism == MechanismScramSHA512 {
		return a.AsSha512Mechanism()
	}
	return a.AsSha256Mechanism()
}

func TestScramWithFranzGoClient(t *testing.T) {
	for _, mech := range []string{MechanismScramSHA256, MechanismScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			users := []string{"alice", "bob,the=builder", "émile"}
			var creds []metadata.ScramCredential
			for _, u := range users {
				creds = append(creds, mustCred(t, u, mech, "pw of "+u))
			}
			a := mustNew(t, Config{Store: newMemStore(creds...), Mechanisms: []string{mech}})
			for _, u := range users {
				s := mustStart(t, a, mech)
				if err := exchange(t, scramClient(mech, scram.Auth{User: u, Pass: "pw of " + u}), s); err != nil {
					t.Fatalf("%s: %v", u, err)
				}
				if s.Principal() != "User:"+u {
					t.Fatalf("principal %q, want User:%s", s.Principal(), u)
				}
			}
			s := mustStart(t, a, mech)
			if err := exchange(t, scramClient(mech, scram.Auth{User: "alice", Zid: "alice", Pass: "pw of alice"}), s); err != nil {
				t.Fatalf("authorization id of the user itself: %v", err)
			}
			s = mustStart(t, a, mech)
			err := exchange(t, scramClient(mech, scram.Auth{User: "alice", Zid: "bob", Pass: "pw of alice"}), s)
			wantRefused(t, s, err, "authorization id differs")

			// A wrong password and an unknown user fail alike, at the
			// proof, with one text.
			s = mustStart(t, a, mech)
			errWrong := exchange(t, scramClient(mech, scram.Auth{User: "alice", Pass: "guess"}), s)
			wantRefused(t, s, errWrong, invalidCredentials)
			s = mustStart(t, a, mech)
			errUnknown := exchange(t, scramClient(mech, scram.Auth{User: "mallory", Pass: "guess"}), s)
			wantRefused(t, s, errUnknown, invalidCredentials)
			if errWrong.Error() != errUnknown.Error() {
				t.Fatalf("unknown user %q and wrong password %q are told apart", errUnknown, errWrong)
			}
			// Even the right password of another mechanism's credential
			// does not pass.
			other := MechanismScramSHA256
			if mech == other {
				other = MechanismScramSHA512
			}
			a2 := mustNew(t, Config{Store: newMemStore(mustCred(t, "carol", other, "pw")), Mechanisms: []string{mech}})
			s = mustStart(t, a2, mech)
			wantRefused(t, s, exchange(t, scramClient(mech, scram.Auth{User: "carol", Pass: "pw"}), s), invalidCredentials)
		})
	}
}

// serverFirstOf runs a client-first message and returns the server's reply.
func serverFirstOf(t *testing.T, a *Authenticator, mech, user string) string {
	t.Helper()
	reply, _, err := mustStart(t, a, mech).Step(ctx, []byte("n,,n="+user+",r=clientnonce"))
	if err != nil {
		t.Fatal(err)
	}
	return string(reply)
}

// saltAndIterations drops the nonce from a server-first message.
func saltAndIterations(serverFirst string) string {
	_, rest, _ := strings.Cut(serverFirst, ",")
	return rest
}

// An unknown user gets a server-first message shaped like a real one's,
// and the same one each time, as a real user does.
func TestScramUnknownUserLooksReal(t *testing.T) {
	mech := MechanismScramSHA512
	a := mustNew(t, Config{Store: newMemStore(mustCred(t, "alice", mech, "pw")), Mechanisms: []string{mech}})
	real := saltAndIterations(serverFirstOf(t, a, mech, "alice"))
	fake := saltAndIterations(serverFirstOf(t, a, mech, "mallory"))
	if len(real) != len(fake) || !strings.HasSuffix(fake, ",i=4096") {
		t.Fatalf("unknown user's %q is shaped unlike a real user's %q", fake, real)
	}
	if again := saltAndIterations(serverFirstOf(t, a, mech, "mallory")); again != fake {
		t.Fatalf("unknown user's salt changed: %q then %q", fake, again)
	}
	if other := saltAndIterations(serverFirstOf(t, a, mech, "trudy")); other == fake {
		t.Fatal("two unknown users share a salt")
	}
}

// validFinal completes s's exchange honestly for password, returning the
// client-final message it sent.
func validFinal(t testing.TB, h *scramHash, serverFirst, clientFirstBare, password string, cred metadata.ScramCredential) string {
	t.Helper()
	return proveFinal(t, h, serverFirst, clientFirstBare, password, cred, "")
}

// proveFinal is validFinal with noncePrefix sent in front of the agreed
// nonce, as librdkafka before 2.1 does.
func proveFinal(t testing.TB, h *scramHash, serverFirst, clientFirstBare, password string, cred metadata.ScramCredential, noncePrefix string) string {
	t.Helper()
	nonce := strings.TrimPrefix(strings.Split(serverFirst, ",")[0], "r=")
	withoutProof := "c=biws,r=" + noncePrefix + nonce
	authMessage := clientFirstBare + "," + serverFirst + "," + withoutProof
	salted, err := pbkdf2.Key(h.new, password, cred.Salt, cred.Iterations, h.size)
	if err != nil {
		t.Fatal(err)
	}
	clientKey := h.hmac(salted, "Client Key")
	sig := h.hmac(h.sum(clientKey), authMessage)
	for i := range sig {
		sig[i] ^= clientKey[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(sig)
}

func TestScramRefusesBadFinals(t *testing.T) {
	mech := MechanismScramSHA256
	cred := mustCred(t, "user", mech, "pencil")
	a := mustNew(t, Config{Store: newMemStore(cred), Mechanisms: []string{mech}})
	const bare = "n=user,r=abc"
	start := func() (Session, string) {
		s := mustStart(t, a, mech)
		reply, _, err := s.Step(ctx, []byte("n,,"+bare))
		if err != nil {
			t.Fatal(err)
		}
		return s, string(reply)
	}

	// The honest final passes, and it is the base of every bad one.
	s, first := start()
	good := validFinal(t, scramSHA256, first, bare, "pencil", cred)
	if _, done, err := s.Step(ctx, []byte(good)); err != nil || !done {
		t.Fatalf("honest final: %v, %v", done, err)
	}
	_, _, err := s.Step(ctx, []byte(good))
	if !errors.Is(err, ErrIllegalSaslState) {
		t.Fatalf("step after the end: %v", err)
	}

	// librdkafka before 2.1 repeats its nonce in front of the agreed one;
	// Kafka accepts that, and so do we.
	s, first = start()
	repeated := proveFinal(t, scramSHA256, first, bare, "pencil", cred, "abc")
	if !strings.Contains(repeated, ",r=abcabc") {
		t.Fatalf("final %q does not repeat the client nonce", repeated)
	}
	if _, done, err := s.Step(ctx, []byte(repeated)); err != nil || !done {
		t.Fatalf("final with the client nonce repeated: %v, %v", done, err)
	}

	// Replayed on a new session, whose server nonce is fresh.
	s, _ = start()
	_, _, err = s.Step(ctx, []byte(good))
	wantRefused(t, s, err, "nonce differs")

	tamper := func(final string, f func(proof []byte)) string {
		i := strings.LastIndex(final, ",p=")
		proof, _ := base64.StdEncoding.DecodeString(final[i+3:])
		f(proof)
		return final[:i+3] + base64.StdEncoding.EncodeToString(proof)
	}
	for _, tc := range []struct {
		name  string
		final func(good string) string
		want  string
	}{
		{"tampered proof", func(g string) string { return tamper(g, func(p []byte) { p[0] ^= 1 }) }, invalidCredentials},
		{"zero proof", func(g string) string { return tamper(g, func(p []byte) { clear(p) }) }, invalidCredentials},
		{"wrong nonce", func(g string) string { return strings.Replace(g, ",r=abc", ",r=abd", 1) }, "nonce differs"},
		{"client nonce only", func(g string) string {
			i, j := strings.Index(g, ",r="), strings.Index(g, ",p=")
			return g[:i] + ",r=abc" + g[j:]
		}, "nonce differs"},
		{"channel binding data", func(g string) string { return strings.Replace(g, "c=biws", "c=eSws", 1) }, "channel binding data"},
		{"extension", func(g string) string { return strings.Replace(g, ",p=", ",x=1,p=", 1) }, "extensions are not supported"},
		{"short proof", func(g string) string {
			return g[:strings.LastIndex(g, ",p=")] + ",p=" + base64.StdEncoding.EncodeToString(make([]byte, 16))
		}, "malformed SCRAM proof"},
		{"proof not base64", func(g string) string { return g[:strings.LastIndex(g, ",p=")] + ",p=!!!!" }, "malformed SCRAM proof"},
		{"no proof", func(g string) string { return g[:strings.LastIndex(g, ",p=")] }, "malformed"},
		{"attributes out of order", func(g string) string {
			parts := strings.Split(g, ",")
			return parts[1] + "," + parts[0] + "," + parts[2]
		}, "malformed"},
		{"empty", func(string) string { return "" }, "malformed"},
		{"huge", func(g string) string { return g + strings.Repeat("A", maxScramMessage) }, "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, first := start()
			good := validFinal(t, scramSHA256, first, bare, "pencil", cred)
			_, done, err := s.Step(ctx, []byte(tc.final(good)))
			if done {
				t.Fatal("a bad final finished the exchange")
			}
			wantRefused(t, s, err, tc.want)
			// The session is over; the honest final cannot follow.
			if _, _, err := s.Step(ctx, []byte(good)); !errors.Is(err, ErrIllegalSaslState) {
				t.Fatalf("step after a failure: %v", err)
			}
		})
	}
}

func TestScramRefusesBadFirsts(t *testing.T) {
	mech := MechanismScramSHA512
	a := mustNew(t, Config{Store: newMemStore(mustCred(t, "user", mech, "pw")), Mechanisms: []string{mech}})
	for _, tc := range []struct{ first, want string }{
		{"p=tls-unique,,n=user,r=abc", "channel binding is not supported"},
		{"y,,n=user,r=abc", "channel binding is not supported"},
		{"n,,m=ext,n=user,r=abc", "mandatory SCRAM extensions"},
		{"n,,n=user,r=abc,tokenauth=true", "extensions are not supported"},
		{"n,a=other,n=user,r=abc", "authorization id differs"},
		{"n,x=other,n=user,r=abc", "malformed SCRAM authorization id"},
		{"n,a=,n=user,r=abc", "malformed SCRAM authorization id"},
		{"n,n=user,r=abc", "malformed SCRAM authorization id"},
		{"n=user,r=abc", "malformed SCRAM GS2 header"},
		{"n,,", "malformed SCRAM client-first"},
		{"n,,n=user", "malformed SCRAM client-first"},
		{"n,,r=abc,n=user", "malformed SCRAM user name"},
		{"n,,n=,r=abc", "malformed SCRAM user name"},
		{"n,,n=us=2Xer,r=abc", "malformed SCRAM user name"},
		{"n,,n=us=er,r=abc", "malformed SCRAM user name"},
		{"n,,n=us\x00er,r=abc", "malformed SCRAM user name"},
		{"n,,n=user,r=", "malformed SCRAM nonce"},
		{"n,,n=user,r=ab c", "malformed SCRAM nonce"},
		{"n,,n=user,x=abc", "malformed SCRAM nonce"},
		{"n,,n=\xff\xfe,r=abc", "not UTF-8"},
		{"", "malformed SCRAM GS2 header"},
		{"n,,n=" + strings.Repeat("u", maxScramMessage) + ",r=abc", "too long"},
	} {
		t.Run(fmt.Sprintf("%.40q", tc.first), func(t *testing.T) {
			s := mustStart(t, a, mech)
			reply, done, err := s.Step(ctx, []byte(tc.first))
			if reply != nil || done {
				t.Fatalf("got reply %q, done %v", reply, done)
			}
			wantRefused(t, s, err, tc.want)
		})
	}
}

// A store that cannot answer is not the client's fault: Step returns the
// store's error, not a refusal the edge would blame on the client.
func TestScramStoreFailure(t *testing.T) {
	store := newMemStore()
	store.err = fmt.Errorf("read SCRAM credential: %w", metadata.ErrUnavailable)
	a := mustNew(t, Config{Store: store, Mechanisms: []string{MechanismScramSHA256, MechanismPlain}})
	_, _, err := mustStart(t, a, MechanismScramSHA256).Step(ctx, []byte("n,,n=user,r=abc"))
	if !errors.Is(err, metadata.ErrUnavailable) || errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("SCRAM: got %v", err)
	}
	_, _, err = mustStart(t, a, MechanismPlain).Step(ctx, []byte("\x00user\x00pw"))
	if !errors.Is(err, metadata.ErrUnavailable) || errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("PLAIN: got %v", err)
	}
}

// Each session draws its own server nonce.
func TestScramFreshNonces(t *testing.T) {
	mech := MechanismScramSHA256
	a := mustNew(t, Config{Store: newMemStore(mustCred(t, "user", mech, "pw")), Mechanisms: []string{mech}})
	seen := map[string]bool{}
	for range 100 {
		first := serverFirstOf(t, a, mech, "user")
		nonce := strings.Split(first, ",")[0]
		if seen[nonce] || len(nonce) < len("r=clientnonce")+20 {
			t.Fatalf("nonce %q repeated or short", nonce)
		}
		seen[nonce] = true
	}
}
