package auth

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz targets check that no input panics a session, that every
// refusal is ErrAuthenticationFailed (the in-memory store never fails),
// and that only the honest messages authenticate.

func FuzzScramStep(f *testing.F) {
	cred := mustCred(f, "user", MechanismScramSHA256, "pencil")
	a := mustNew(f, Config{Store: newMemStore(cred), Mechanisms: []string{MechanismScramSHA256}})
	a.serverNonce = func() string { return "servernonce" } // so that an honest final can be a seed
	const bare = "n=user,r=clientnonce"
	serverFirst, _, err := mustStart(f, a, MechanismScramSHA256).Step(ctx, []byte("n,,"+bare))
	if err != nil {
		f.Fatal(err)
	}
	honest := validFinal(f, scramSHA256, string(serverFirst), bare, "pencil", cred)
	for _, seed := range [][2]string{
		{"n,," + bare, honest},
		{"n,a=user," + bare, strings.Replace(honest, "c=biws", "c=bixhPXVzZXIs", 1)},
		{"n,," + bare, strings.Replace(honest, "r=clientnonce", "r=clientnonce2", 1)},
		{"n,,n=mallory,r=clientnonce", honest},
		{"n,,n=us=2Cer,r=x,ext=1", "c=biws,r=x,p=AAAA"},
		{"p=tls-unique,," + bare, ""},
		{"n,,m=x," + bare, "c=biws,r=clientnonceservernonce,x=y,p="},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, first, final []byte) {
		s := mustStart(t, a, MechanismScramSHA256)
		reply, done, err := s.Step(ctx, first)
		if err != nil {
			wantFuzzRefusal(t, s, err)
			return
		}
		if done || len(reply) == 0 {
			t.Fatalf("client-first gave %q, done %v", reply, done)
		}
		_, done, err = s.Step(ctx, final)
		switch {
		case err != nil:
			wantFuzzRefusal(t, s, err)
		case !done || s.Principal() != "User:user":
			t.Fatalf("accepted final: done %v, principal %q", done, s.Principal())
		case !bytes.Equal(first, []byte("n,,"+bare)) && !bytes.Equal(first, []byte("n,a=user,"+bare)):
			t.Fatalf("authenticated after client-first %q", first)
		}
	})
}

func FuzzPlainStep(f *testing.F) {
	a := mustNew(f, Config{Store: newMemStore(mustCred(f, "user", MechanismScramSHA512, "pencil")), Mechanisms: []string{MechanismPlain}})
	for _, seed := range []string{"\x00user\x00pencil", "user\x00user\x00pencil", "\x00user\x00pencl", "x\x00user\x00pencil", "\x00\x00", ""} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := mustStart(t, a, MechanismPlain)
		_, done, err := s.Step(ctx, msg)
		switch {
		case err != nil:
			wantFuzzRefusal(t, s, err)
		case !done || s.Principal() != "User:user":
			t.Fatalf("accepted: done %v, principal %q", done, s.Principal())
		case string(msg) != "\x00user\x00pencil" && string(msg) != "user\x00user\x00pencil":
			t.Fatalf("authenticated with %q", msg)
		}
	})
}

func FuzzOAuthStep(f *testing.F) {
	testKeys(f)
	jwks := filepath.Join(f.TempDir(), "jwks.json")
	writeJSON(f, jwks, map[string]any{"keys": []any{jwkOf(f, "ec", ecPriv.Public())}})
	clock := &fixedClock{now0}
	a := mustNew(f, Config{Mechanisms: []string{MechanismOAuthBearer}, Now: clock.Now,
		OAuth: OAuthConfig{JWKSFile: jwks, Unsecured: true, ExpectedAudience: []string{"kafka"}}})
	signed := testKey{"ES256", "ec", ecPriv}.token(f, claims(nil))
	unsigned := testKey{alg: "none"}.token(f, claims(map[string]any{"iat": nil}))
	expired := testKey{alg: "none"}.token(f, claims(map[string]any{"iat": nil, "exp": now0.Unix() - 100}))
	for _, seed := range []string{
		string(initialResponse(signed)),
		string(initialResponse(unsigned)),
		string(initialResponse(expired)),
		"n,a=alice,\x01auth=Bearer " + signed + "\x01host=h\x01\x01",
		"n,,\x01auth=Bearer a.b.c\x01\x01",
		"y,,\x01\x01",
	} {
		f.Add([]byte(seed), []byte("\x01"))
	}
	f.Fuzz(func(t *testing.T, msg, ack []byte) {
		s := mustStart(t, a, MechanismOAuthBearer)
		reply, done, err := s.Step(ctx, msg)
		switch {
		case err != nil:
			wantFuzzRefusal(t, s, err)
		case done:
			if s.Principal() == "" || !s.Expiry().After(now0.Add(-defaultClockSkew)) || len(reply) != 0 {
				t.Fatalf("accepted: principal %q, expiry %v, reply %q", s.Principal(), s.Expiry(), reply)
			}
		default:
			if string(reply) != invalidToken {
				t.Fatalf("reply %q to a refused token", reply)
			}
			_, done, err := s.Step(ctx, ack)
			if done || !strings.Contains(errString(err), "invalid_token") {
				t.Fatalf("after the error JSON: done %v, %v", done, err)
			}
			wantFuzzRefusal(t, s, err)
		}
	})
}

func wantFuzzRefusal(t *testing.T, s Session, err error) {
	t.Helper()
	if !errors.Is(err, ErrAuthenticationFailed) || s.Principal() != "" || !s.Expiry().IsZero() {
		t.Fatalf("refusal %v with principal %q, expiry %v", err, s.Principal(), s.Expiry())
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
