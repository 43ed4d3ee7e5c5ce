package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"fmt"

	"github.com/caudal/caudal/metadata"
)

// Iteration counts of SCRAM credentials, as Kafka bounds them: its
// mechanisms' minimum of 4096 and its controller's maximum of 16384.
const (
	DefaultIterations = 4096
	MinIterations     = 4096
	MaxIterations     = 16384
)

// saltSize is the length of the salts NewScramCredential draws.
const saltSize = 32

// kafkaError is a sentinel error with the message Kafka gives for it;
// tools such as kafka-configs print that message as it is.
type kafkaError struct {
	kind error
	msg  string
}

func (e *kafkaError) Error() string { return e.msg }
func (e *kafkaError) Unwrap() error { return e.kind }

// NewScramCredential salts and hashes password for user with a random
// salt, as for a first admin user created at start-up. iterations must lie
// in Kafka's bounds, 4096 to 16384; DefaultIterations is Kafka's default.
func NewScramCredential(user, mechanism, password string, iterations int) (metadata.ScramCredential, error) {
	h, err := checkCredential(user, mechanism, iterations)
	if err != nil {
		return metadata.ScramCredential{}, err
	}
	if password == "" {
		return metadata.ScramCredential{}, &kafkaError{ErrUnacceptableCredential, "Password must not be empty"}
	}
	salt := make([]byte, saltSize)
	rand.Read(salt)
	salted, err := pbkdf2.Key(h.new, password, salt, iterations, h.size)
	if err != nil {
		return metadata.ScramCredential{}, fmt.Errorf("derive SCRAM salted password: %w", err)
	}
	return scramCredential(h, user, salt, salted, iterations), nil
}

// ScramCredentialFromSalted is the credential of an AlterUserScramCredentials
// upsertion (KIP-554), where the client sends the salt and the
// SaltedPassword it derived, never the password.
func ScramCredentialFromSalted(user, mechanism string, salt, saltedPassword []byte, iterations int) (metadata.ScramCredential, error) {
	h, err := checkCredential(user, mechanism, iterations)
	if err != nil {
		return metadata.ScramCredential{}, err
	}
	// Kafka takes empty ones; no real client sends them, and an empty
	// salt would make every such user's keys depend on the password alone.
	if len(salt) == 0 {
		return metadata.ScramCredential{}, &kafkaError{ErrUnacceptableCredential, "Salt must not be empty"}
	}
	if len(saltedPassword) == 0 {
		return metadata.ScramCredential{}, &kafkaError{ErrUnacceptableCredential, "Salted password must not be empty"}
	}
	return scramCredential(h, user, salt, saltedPassword, iterations), nil
}

// checkCredential applies Kafka's rules, with its messages, and returns the
// mechanism's hash.
func checkCredential(user, mechanism string, iterations int) (*scramHash, error) {
	h, err := checkUserAndMechanism(user, mechanism)
	switch {
	case err != nil:
		return nil, err
	case iterations < MinIterations:
		return nil, &kafkaError{ErrUnacceptableCredential, "Too few iterations"}
	case iterations > MaxIterations:
		return nil, &kafkaError{ErrUnacceptableCredential, "Too many iterations"}
	}
	return h, nil
}

func checkUserAndMechanism(user, mechanism string) (*scramHash, error) {
	if user == "" {
		return nil, &kafkaError{ErrUnacceptableCredential, "Username must not be empty"}
	}
	h := scramHashes[mechanism]
	if h == nil {
		return nil, &kafkaError{ErrUnsupportedMechanism, "Unknown SCRAM mechanism"}
	}
	return h, nil
}

// scramCredential keeps what RFC 5802 section 3 has a server keep of a
// salted password.
func scramCredential(h *scramHash, user string, salt, salted []byte, iterations int) metadata.ScramCredential {
	storedKey, serverKey := scramKeys(h, salted)
	return metadata.ScramCredential{
		User:       user,
		Mechanism:  h.mechanism,
		Salt:       salt,
		Iterations: iterations,
		StoredKey:  storedKey,
		ServerKey:  serverKey,
	}
}

// scramKeys: StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
// ServerKey = HMAC(SaltedPassword, "Server Key").
func scramKeys(h *scramHash, salted []byte) (storedKey, serverKey []byte) {
	return scramStoredKey(h, salted), h.hmac(salted, "Server Key")
}

func scramStoredKey(h *scramHash, salted []byte) []byte { return h.sum(h.hmac(salted, "Client Key")) }
