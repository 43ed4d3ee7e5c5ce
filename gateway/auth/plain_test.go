package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl/plain"
)

func TestPlain(t *testing.T) {
	store := newMemStore(
		mustCred(t, "alice", MechanismScramSHA512, "alice-pw"),
		mustCred(t, "alice", MechanismScramSHA256, "older-pw"), // SHA-512's is tried first
		mustCred(t, "bob", MechanismScramSHA256, "bob-pw"),     // only a SHA-256 one
	)
	a := mustNew(t, Config{Store: store, Mechanisms: []string{MechanismPlain}})
	for _, tc := range []struct {
		msg  string
		want string // principal, or the refusal's reason
	}{
		{"\x00alice\x00alice-pw", "User:alice"},
		{"alice\x00alice\x00alice-pw", "User:alice"},
		{"\x00bob\x00bob-pw", "User:bob"},
		{"\x00alice\x00older-pw", invalidCredentials},
		{"\x00alice\x00wrong", invalidCredentials},
		{"\x00mallory\x00alice-pw", invalidCredentials},
		{"\x00Alice\x00alice-pw", invalidCredentials},
		{"bob\x00alice\x00alice-pw", "authorization id differs"},
		{"\x00\x00alice-pw", "user name is empty"},
		{"\x00alice\x00", "password is empty"},
		{"alice\x00alice-pw", "malformed PLAIN message"},
		{"\x00alice\x00alice-pw\x00", "malformed PLAIN message"},
		{"", "malformed PLAIN message"},
		{"\x00alice\x00" + strings.Repeat("p", maxPlainMessage), "too long"},
	} {
		t.Run(fmt.Sprintf("%.40q", tc.msg), func(t *testing.T) {
			s := mustStart(t, a, MechanismPlain)
			reply, done, err := s.Step(ctx, []byte(tc.msg))
			if len(reply) != 0 {
				t.Fatalf("PLAIN replied %q", reply)
			}
			if strings.HasPrefix(tc.want, "User:") {
				if err != nil || !done || s.Principal() != tc.want || !s.Expiry().IsZero() {
					t.Fatalf("got done %v, %v, principal %q", done, err, s.Principal())
				}
			} else {
				wantRefused(t, s, err, tc.want)
				if _, pw, _ := strings.Cut(strings.TrimPrefix(tc.msg, "\x00"), "\x00"); pw != "" && strings.Contains(err.Error(), pw) {
					t.Fatalf("error %q quotes the password", err)
				}
			}
			if _, _, err := s.Step(ctx, []byte(tc.msg)); !errors.Is(err, ErrIllegalSaslState) {
				t.Fatalf("second step: %v", err)
			}
		})
	}
}

func TestPlainWithFranzGoClient(t *testing.T) {
	a := mustNew(t, Config{Store: newMemStore(mustCred(t, "alice", MechanismScramSHA256, "pw")), Mechanisms: []string{MechanismPlain}})
	s := mustStart(t, a, MechanismPlain)
	if err := exchange(t, plain.Auth{User: "alice", Pass: "pw"}.AsMechanism(), s); err != nil || s.Principal() != "User:alice" {
		t.Fatalf("got %v, principal %q", err, s.Principal())
	}
	s = mustStart(t, a, MechanismPlain)
	wantRefused(t, s, exchange(t, plain.Auth{User: "alice", Pass: "nope"}.AsMechanism(), s), invalidCredentials)
}
