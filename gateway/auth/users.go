package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/caudal/caudal/metadata"
)

// ScramMechanismName names KIP-554's mechanism type: 1 is SCRAM-SHA-256,
// 2 is SCRAM-SHA-512; any other type gives "", which Alter refuses as an
// unknown mechanism.
func ScramMechanismName(t int8) string {
	switch t {
	case 1:
		return MechanismScramSHA256
	case 2:
		return MechanismScramSHA512
	}
	return ""
}

// ScramMechanismType is ScramMechanismName's inverse; 0 (Kafka's UNKNOWN)
// for a name that is not a SCRAM mechanism.
func ScramMechanismType(name string) int8 {
	switch name {
	case MechanismScramSHA256:
		return 1
	case MechanismScramSHA512:
		return 2
	}
	return 0
}

// Users reads and changes SCRAM credentials with the rules of Kafka's
// DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554, as
// its KRaft controller applies them).
type Users struct {
	store metadata.Credentials
}

// NewUsers manages the credentials in store.
func NewUsers(store metadata.Credentials) *Users { return &Users{store: store} }

// UserCredentials is one user's answer to Describe.
type UserCredentials struct {
	User        string
	Credentials []CredentialInfo
	// Err is nil, ErrResourceNotFound or ErrDuplicateResource, with
	// Kafka's message.
	Err error
}

// CredentialInfo is one credential as Describe reports it.
type CredentialInfo struct {
	Mechanism  string
	Iterations int
}

// Describe answers for users, or for every user with a credential when
// users is empty. A user asked for twice gets ErrDuplicateResource, one
// without credentials ErrResourceNotFound; each user is answered once, in
// the order asked. The error is the store's failure, for the whole request.
func (u *Users) Describe(ctx context.Context, users []string) ([]UserCredentials, error) {
	infos, err := u.store.ScramCredentialInfos(ctx, users)
	if err != nil {
		return nil, fmt.Errorf("describe SCRAM credentials: %w", err)
	}
	byUser := map[string][]CredentialInfo{}
	var listed []string // users in the store's order, for describe-all
	for _, i := range infos {
		if byUser[i.User] == nil {
			listed = append(listed, i.User)
		}
		byUser[i.User] = append(byUser[i.User], CredentialInfo{Mechanism: i.Mechanism, Iterations: i.Iterations})
	}
	if len(users) == 0 {
		users = listed
	}
	asked := map[string]int{}
	var order []string
	for _, name := range users {
		if asked[name]++; asked[name] == 1 {
			order = append(order, name)
		}
	}
	out := make([]UserCredentials, 0, len(order))
	for _, name := range order {
		r := UserCredentials{User: name}
		switch {
		case asked[name] > 1:
			r.Err = &kafkaError{ErrDuplicateResource, "Cannot describe SCRAM credentials for the same user twice in a single request: " + name}
		case byUser[name] == nil:
			r.Err = &kafkaError{ErrResourceNotFound, "Attempt to describe a user credential that does not exist: " + name}
		default:
			r.Credentials = byUser[name]
		}
		out = append(out, r)
	}
	return out, nil
}

// ScramDeletion removes one user's credential for one mechanism.
type ScramDeletion struct {
	User, Mechanism string
}

// ScramUpsertion sets one user's credential for one mechanism from the
// salt and SaltedPassword the client derived.
type ScramUpsertion struct {
	User, Mechanism string
	Iterations      int
	Salt            []byte
	SaltedPassword  []byte
}

// UserResult is one user's answer to Alter.
type UserResult struct {
	User string
	// Err is nil; ErrDuplicateResource, ErrResourceNotFound,
	// ErrUnsupportedMechanism or ErrUnacceptableCredential with Kafka's
	// message; or the store's failure (any other error, for logs only).
	Err error
}

// Alter applies deletions and upsertions with Kafka's rules: a user may be
// named once in a request, whatever the mechanisms (ErrDuplicateResource
// for all of that user's changes); a deletion of a credential that does not
// exist is ErrResourceNotFound; a user's change that fails its checks is
// not made, while other users' are. Each user is answered once, in the
// order first named, deletions before upsertions.
func (u *Users) Alter(ctx context.Context, deletions []ScramDeletion, upsertions []ScramUpsertion) []UserResult {
	var order []string
	errs := map[string]error{}
	dels := map[string]ScramDeletion{}
	ups := map[string]metadata.ScramCredential{}
	// seen reports whether user was named before, and whether with an
	// error; a second mention turns a valid change into a duplicate.
	seen := func(user string) bool {
		if _, failed := errs[user]; failed {
			return true
		}
		_, del := dels[user]
		_, up := ups[user]
		if del || up {
			delete(dels, user)
			delete(ups, user)
			errs[user] = &kafkaError{ErrDuplicateResource, "A user credential cannot be altered twice in the same request"}
			return true
		}
		order = append(order, user)
		return false
	}
	for _, d := range deletions {
		if seen(d.User) {
			continue
		}
		if err := u.checkDeletion(ctx, d); err != nil {
			errs[d.User] = err
		} else {
			dels[d.User] = d
		}
	}
	for _, up := range upsertions {
		if seen(up.User) {
			continue
		}
		cred, err := ScramCredentialFromSalted(up.User, up.Mechanism, up.Salt, up.SaltedPassword, up.Iterations)
		if err != nil {
			errs[up.User] = err
		} else {
			ups[up.User] = cred
		}
	}
	out := make([]UserResult, 0, len(order))
	for _, user := range order {
		err, failed := errs[user]
		if !failed {
			err = u.apply(ctx, user, dels, ups)
		}
		out = append(out, UserResult{User: user, Err: err})
	}
	return out
}

// checkDeletion refuses, before anything is changed, a deletion Kafka's
// controller would refuse: an empty name, an unknown mechanism, a
// credential that does not exist.
func (u *Users) checkDeletion(ctx context.Context, d ScramDeletion) error {
	if _, err := checkUserAndMechanism(d.User, d.Mechanism); err != nil {
		return err
	}
	_, err := u.store.ScramCredential(ctx, d.User, d.Mechanism)
	if errors.Is(err, metadata.ErrNotFound) {
		return errNoSuchCredential
	}
	if err != nil {
		return fmt.Errorf("look up SCRAM credential: %w", err)
	}
	return nil
}

var errNoSuchCredential = &kafkaError{ErrResourceNotFound, "Attempt to delete a user credential that does not exist"}

// apply makes user's one change.
func (u *Users) apply(ctx context.Context, user string, dels map[string]ScramDeletion, ups map[string]metadata.ScramCredential) error {
	if d, ok := dels[user]; ok {
		err := u.store.DeleteScramCredential(ctx, d.User, d.Mechanism)
		if errors.Is(err, metadata.ErrNotFound) { // deleted meanwhile
			return errNoSuchCredential
		}
		if err != nil {
			return fmt.Errorf("delete SCRAM credential: %w", err)
		}
		return nil
	}
	if err := u.store.PutScramCredential(ctx, ups[user]); err != nil {
		return fmt.Errorf("store SCRAM credential: %w", err)
	}
	return nil
}
