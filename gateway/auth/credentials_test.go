package auth

import (
	"bytes"
	"crypto/pbkdf2"
	"errors"
	"strings"
	"testing"
)

func TestNewScramCredential(t *testing.T) {
	for _, mech := range []string{MechanismScramSHA256, MechanismScramSHA512} {
		c, err := NewScramCredential("alice", mech, "secret", 8192)
		if err != nil {
			t.Fatal(err)
		}
		h := scramHashes[mech]
		if c.User != "alice" || c.Mechanism != mech || c.Iterations != 8192 || len(c.Salt) != saltSize ||
			len(c.StoredKey) != h.size || len(c.ServerKey) != h.size {
			t.Fatalf("%s: credential %+v", mech, c)
		}
		// The client's route, salting the password itself, gives the same keys.
		salted, _ := pbkdf2.Key(h.new, "secret", c.Salt, 8192, h.size)
		fromSalted, err := ScramCredentialFromSalted("alice", mech, c.Salt, salted, 8192)
		if err != nil || !bytes.Equal(fromSalted.StoredKey, c.StoredKey) || !bytes.Equal(fromSalted.ServerKey, c.ServerKey) {
			t.Fatalf("%s: from salted %+v, %v", mech, fromSalted, err)
		}
		again, _ := NewScramCredential("alice", mech, "secret", 8192)
		if bytes.Equal(again.Salt, c.Salt) {
			t.Fatal("two credentials share a salt")
		}
	}
}

func TestCredentialRules(t *testing.T) {
	salt, salted := []byte("salt"), []byte("salted password")
	for _, tc := range []struct {
		name         string
		user, mech   string
		iterations   int
		salt, salted []byte
		password     string
		kind         error
		message      string
	}{
		{"too few iterations", "u", MechanismScramSHA256, 4095, salt, salted, "pw", ErrUnacceptableCredential, "Too few iterations"},
		{"too many iterations", "u", MechanismScramSHA512, 16385, salt, salted, "pw", ErrUnacceptableCredential, "Too many iterations"},
		{"empty user", "", MechanismScramSHA256, 4096, salt, salted, "pw", ErrUnacceptableCredential, "Username must not be empty"},
		{"unknown mechanism", "u", "SCRAM-SHA-1", 4096, salt, salted, "pw", ErrUnsupportedMechanism, "Unknown SCRAM mechanism"},
		{"PLAIN is no SCRAM mechanism", "u", MechanismPlain, 4096, salt, salted, "pw", ErrUnsupportedMechanism, "Unknown SCRAM mechanism"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewScramCredential(tc.user, tc.mech, tc.password, tc.iterations)
			if !errors.Is(err, tc.kind) || err.Error() != tc.message {
				t.Fatalf("NewScramCredential: %v", err)
			}
			_, err = ScramCredentialFromSalted(tc.user, tc.mech, tc.salt, tc.salted, tc.iterations)
			if !errors.Is(err, tc.kind) || err.Error() != tc.message {
				t.Fatalf("ScramCredentialFromSalted: %v", err)
			}
		})
	}
	for _, err := range []error{
		func() error { _, err := NewScramCredential("u", MechanismScramSHA256, "", 4096); return err }(),
		func() error {
			_, err := ScramCredentialFromSalted("u", MechanismScramSHA256, nil, salted, 4096)
			return err
		}(),
		func() error {
			_, err := ScramCredentialFromSalted("u", MechanismScramSHA256, salt, nil, 4096)
			return err
		}(),
	} {
		if !errors.Is(err, ErrUnacceptableCredential) || !strings.Contains(err.Error(), "must not be empty") {
			t.Fatalf("empty secret: %v", err)
		}
	}
	for _, it := range []int{4096, 16384} {
		if _, err := NewScramCredential("u", MechanismScramSHA512, "pw", it); err != nil {
			t.Fatalf("%d iterations: %v", it, err)
		}
	}
}
