package metadata

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
)

// Credentials stores the SCRAM credentials of SASL users. The store keeps
// what it is given; the gateway derives the keys and checks the rules
// (mechanism names, iteration bounds) before it writes.
type Credentials interface {
	// ScramCredential returns user's credential for mechanism, or
	// ErrNotFound.
	ScramCredential(ctx context.Context, user, mechanism string) (ScramCredential, error)
	// PutScramCredential creates the credential of its user and
	// mechanism, or replaces it.
	PutScramCredential(ctx context.Context, c ScramCredential) error
	// DeleteScramCredential removes user's credential for mechanism, or
	// returns ErrNotFound when there is none.
	DeleteScramCredential(ctx context.Context, user, mechanism string) error
	// ScramCredentialInfos lists the mechanisms and iteration counts of
	// the credentials of users (all users when users is empty), ordered
	// by user and mechanism. A user without credentials is not listed.
	ScramCredentialInfos(ctx context.Context, users []string) ([]ScramCredentialInfo, error)
}

// ScramCredential is what a server keeps of a SCRAM password (RFC 5802
// section 3): StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
// ServerKey = HMAC(SaltedPassword, "Server Key"), where SaltedPassword is
// PBKDF2 of the password with Salt and Iterations. Neither key lets anyone
// log in, though StoredKey lets an attacker test guesses offline, so treat
// them as secrets all the same.
type ScramCredential struct {
	User       string
	Mechanism  string // "SCRAM-SHA-256" or "SCRAM-SHA-512"
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// ScramCredentialInfo is the public part of a credential, what
// DescribeUserScramCredentials reports.
type ScramCredentialInfo struct {
	User       string
	Mechanism  string
	Iterations int
}

func (s *sqlStore) ScramCredential(ctx context.Context, user, mechanism string) (ScramCredential, error) {
	c := ScramCredential{User: user, Mechanism: mechanism}
	err := s.b.queryRow(ctx, `SELECT salt, iterations, stored_key, server_key FROM scram_credentials
		WHERE user_name = ? AND mechanism = ?`, user, mechanism).Scan(&c.Salt, &c.Iterations, &c.StoredKey, &c.ServerKey)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return ScramCredential{}, s.wrap(ctx, "read SCRAM credential", err)
	}
	return c, nil
}

func (s *sqlStore) PutScramCredential(ctx context.Context, c ScramCredential) error {
	_, err := s.b.exec(ctx, `INSERT INTO scram_credentials (user_name, mechanism, salt, iterations, stored_key, server_key)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_name, mechanism) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations,
		stored_key = excluded.stored_key, server_key = excluded.server_key`,
		c.User, c.Mechanism, c.Salt, c.Iterations, c.StoredKey, c.ServerKey)
	return s.wrap(ctx, "store SCRAM credential", err)
}

func (s *sqlStore) DeleteScramCredential(ctx context.Context, user, mechanism string) error {
	n, err := s.b.exec(ctx, "DELETE FROM scram_credentials WHERE user_name = ? AND mechanism = ?", user, mechanism)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return s.wrap(ctx, "delete SCRAM credential", err)
}

func (s *sqlStore) ScramCredentialInfos(ctx context.Context, users []string) ([]ScramCredentialInfo, error) {
	const cols = "SELECT user_name, mechanism, iterations FROM scram_credentials"
	stmts := []stmt{{q: cols}}
	if len(users) > 0 {
		stmts = keyChunks(dedupe(users), func(in string, args []any) stmt {
			return stmt{cols + " WHERE user_name IN " + in, args}
		})
	}
	var infos []ScramCredentialInfo
	for _, st := range stmts {
		err := scanAll(ctx, s.b, func(r rows) error {
			var i ScramCredentialInfo
			err := r.Scan(&i.User, &i.Mechanism, &i.Iterations)
			infos = append(infos, i)
			return err
		}, st.q, st.args...)
		if err != nil {
			return nil, s.wrap(ctx, "list SCRAM credentials", err)
		}
	}
	// Sorted here rather than in SQL: PostgreSQL's collation would order
	// names differently from SQLite's bytewise one.
	slices.SortFunc(infos, func(a, b ScramCredentialInfo) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Mechanism, b.Mechanism))
	})
	return infos, nil
}
