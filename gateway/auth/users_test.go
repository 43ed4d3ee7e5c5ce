package auth

import (
	"crypto/pbkdf2"
	"errors"
	"slices"
	"testing"

	"github.com/caudal/caudal/metadata/metadatatest"

	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/caudal/caudal/metadata"
)

// sqliteStore is a real metadata store, so that Users is tested against
// the store's own ErrNotFound and ordering.
func sqliteStore(t *testing.T) metadata.Store {
	t.Helper()
	return metadatatest.OpenSQLite(t, metadata.Options{})
}

// upsertion is what a client such as kadm sends for a password.
func upsertion(t *testing.T, user, mech, password string, iterations int) ScramUpsertion {
	t.Helper()
	h := scramHashes[mech]
	salt := []byte("salt of " + user)
	salted, err := pbkdf2.Key(h.new, password, salt, iterations, h.size)
	if err != nil {
		t.Fatal(err)
	}
	return ScramUpsertion{User: user, Mechanism: mech, Iterations: iterations, Salt: salt, SaltedPassword: salted}
}

// result is a UserResult reduced to comparable parts.
type result struct {
	user    string
	kind    error
	message string
}

func results(rs []UserResult) []result {
	var out []result
	for _, r := range rs {
		res := result{user: r.User}
		for _, kind := range []error{ErrDuplicateResource, ErrResourceNotFound, ErrUnsupportedMechanism, ErrUnacceptableCredential} {
			if errors.Is(r.Err, kind) {
				res.kind, res.message = kind, r.Err.Error()
			}
		}
		if r.Err != nil && res.kind == nil {
			res.kind, res.message = r.Err, r.Err.Error()
		}
		out = append(out, res)
	}
	return out
}

func describe(t *testing.T, u *Users, users ...string) []UserCredentials {
	t.Helper()
	got, err := u.Describe(ctx, users)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestUsersAlter(t *testing.T) {
	store := sqliteStore(t)
	u := NewUsers(store)
	const dup = "A user credential cannot be altered twice in the same request"
	for _, tc := range []struct {
		name string
		dels []ScramDeletion
		ups  []ScramUpsertion
		want []result
	}{
		{"create", nil, []ScramUpsertion{
			upsertion(t, "alice", MechanismScramSHA256, "a", 4096),
			upsertion(t, "bob", MechanismScramSHA512, "b", 8192),
		}, []result{{user: "alice"}, {user: "bob"}}},
		{"second mechanism, another request", nil, []ScramUpsertion{upsertion(t, "alice", MechanismScramSHA512, "a", 4096)},
			[]result{{user: "alice"}}},
		// Kafka's controller refuses a user named twice in one request
		// even for two mechanisms, as kafka-configs sends them.
		{"two mechanisms in one request", nil, []ScramUpsertion{
			upsertion(t, "carol", MechanismScramSHA256, "c", 4096),
			upsertion(t, "carol", MechanismScramSHA512, "c", 4096),
			upsertion(t, "dave", MechanismScramSHA256, "d", 4096),
		}, []result{{"carol", ErrDuplicateResource, dup}, {user: "dave"}}},
		{"deletion and upsertion of one user", []ScramDeletion{{"alice", MechanismScramSHA256}},
			[]ScramUpsertion{upsertion(t, "alice", MechanismScramSHA512, "a2", 4096)},
			[]result{{"alice", ErrDuplicateResource, dup}}},
		{"named three times", []ScramDeletion{{"bob", MechanismScramSHA512}, {"bob", MechanismScramSHA512}},
			[]ScramUpsertion{upsertion(t, "bob", MechanismScramSHA512, "b", 4096)},
			[]result{{"bob", ErrDuplicateResource, dup}}},
		// A user's first, failed change keeps its own error.
		{"invalid, then named again", []ScramDeletion{{"erin", MechanismScramSHA256}},
			[]ScramUpsertion{upsertion(t, "erin", MechanismScramSHA256, "e", 4096)},
			[]result{{"erin", ErrResourceNotFound, "Attempt to delete a user credential that does not exist"}}},
		{"rules", []ScramDeletion{{"", MechanismScramSHA256}, {"frank", ""}}, []ScramUpsertion{
			upsertion(t, "gina", MechanismScramSHA256, "g", 4095),
			upsertion(t, "hank", MechanismScramSHA512, "h", 16385),
			{User: "ivan", Mechanism: "", Iterations: 4096, Salt: []byte("s"), SaltedPassword: []byte("p")},
			upsertion(t, "judy", MechanismScramSHA512, "j", 16384),
		}, []result{
			{"", ErrUnacceptableCredential, "Username must not be empty"},
			{"frank", ErrUnsupportedMechanism, "Unknown SCRAM mechanism"},
			{"gina", ErrUnacceptableCredential, "Too few iterations"},
			{"hank", ErrUnacceptableCredential, "Too many iterations"},
			{"ivan", ErrUnsupportedMechanism, "Unknown SCRAM mechanism"},
			{user: "judy"},
		}},
		{"delete", []ScramDeletion{{"alice", MechanismScramSHA256}, {"bob", MechanismScramSHA256}},
			nil, []result{{user: "alice"}, {"bob", ErrResourceNotFound, "Attempt to delete a user credential that does not exist"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := results(u.Alter(ctx, tc.dels, tc.ups)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
	want := []UserCredentials{
		{User: "alice", Credentials: []CredentialInfo{{MechanismScramSHA512, 4096}}},
		{User: "bob", Credentials: []CredentialInfo{{MechanismScramSHA512, 8192}}},
		{User: "dave", Credentials: []CredentialInfo{{MechanismScramSHA256, 4096}}},
		{User: "judy", Credentials: []CredentialInfo{{MechanismScramSHA512, 16384}}},
	}
	if got := describe(t, u); !sameDescribe(got, want) {
		t.Fatalf("after the changes: %+v", got)
	}
}

func sameDescribe(a, b []UserCredentials) bool {
	return slices.EqualFunc(a, b, func(x, y UserCredentials) bool {
		return x.User == y.User && slices.Equal(x.Credentials, y.Credentials) && (x.Err == nil) == (y.Err == nil) &&
			(x.Err == nil || x.Err.Error() == y.Err.Error())
	})
}

func TestUsersDescribe(t *testing.T) {
	store := sqliteStore(t)
	u := NewUsers(store)
	if got := describe(t, u); len(got) != 0 {
		t.Fatalf("describe all of none: %+v", got)
	}
	u.Alter(ctx, nil, []ScramUpsertion{
		upsertion(t, "bob", MechanismScramSHA512, "b", 8192),
		upsertion(t, "alice", MechanismScramSHA256, "a", 4096),
	})
	u.Alter(ctx, nil, []ScramUpsertion{upsertion(t, "alice", MechanismScramSHA512, "a", 5000)})
	alice := UserCredentials{User: "alice", Credentials: []CredentialInfo{{MechanismScramSHA256, 4096}, {MechanismScramSHA512, 5000}}}
	bob := UserCredentials{User: "bob", Credentials: []CredentialInfo{{MechanismScramSHA512, 8192}}}
	notFound := func(user string) UserCredentials {
		return UserCredentials{User: user, Err: errors.New("Attempt to describe a user credential that does not exist: " + user)}
	}
	duplicate := func(user string) UserCredentials {
		return UserCredentials{User: user, Err: errors.New("Cannot describe SCRAM credentials for the same user twice in a single request: " + user)}
	}
	for _, tc := range []struct {
		users []string
		want  []UserCredentials
	}{
		{nil, []UserCredentials{alice, bob}},
		{[]string{"bob"}, []UserCredentials{bob}},
		{[]string{"bob", "nobody", "alice"}, []UserCredentials{bob, notFound("nobody"), alice}},
		{[]string{"alice", "bob", "alice"}, []UserCredentials{duplicate("alice"), bob}},
		{[]string{"nobody", "nobody"}, []UserCredentials{duplicate("nobody")}},
	} {
		got := describe(t, u, tc.users...)
		if !sameDescribe(got, tc.want) {
			t.Fatalf("Describe(%q) = %+v\nwant %+v", tc.users, got, tc.want)
		}
		for _, r := range got {
			if r.Err != nil && !errors.Is(r.Err, ErrResourceNotFound) && !errors.Is(r.Err, ErrDuplicateResource) {
				t.Fatalf("untyped error %v", r.Err)
			}
		}
	}
}

// A user created through AlterUserScramCredentials logs in with SCRAM and
// PLAIN; after its deletion, it no longer does.
func TestUsersThenLogIn(t *testing.T) {
	store := sqliteStore(t)
	u := NewUsers(store)
	a := mustNew(t, Config{Store: store, Mechanisms: []string{MechanismScramSHA512, MechanismPlain}})
	if r := u.Alter(ctx, nil, []ScramUpsertion{upsertion(t, "alice", MechanismScramSHA512, "pw", 4096)}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	s := mustStart(t, a, MechanismScramSHA512)
	if err := exchange(t, scram.Auth{User: "alice", Pass: "pw"}.AsSha512Mechanism(), s); err != nil || s.Principal() != "User:alice" {
		t.Fatalf("SCRAM: %v, %q", err, s.Principal())
	}
	s = mustStart(t, a, MechanismPlain)
	if _, done, err := s.Step(ctx, []byte("\x00alice\x00pw")); err != nil || !done {
		t.Fatalf("PLAIN: %v", err)
	}
	if r := u.Alter(ctx, []ScramDeletion{{"alice", MechanismScramSHA512}}, nil); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	s = mustStart(t, a, MechanismScramSHA512)
	wantRefused(t, s, exchange(t, scram.Auth{User: "alice", Pass: "pw"}.AsSha512Mechanism(), s), invalidCredentials)
}

func TestScramMechanismTypes(t *testing.T) {
	for typ, name := range map[int8]string{1: MechanismScramSHA256, 2: MechanismScramSHA512, 0: "", 3: "", -1: ""} {
		if got := ScramMechanismName(typ); got != name {
			t.Fatalf("ScramMechanismName(%d) = %q", typ, got)
		}
		if name != "" && ScramMechanismType(name) != typ {
			t.Fatalf("ScramMechanismType(%q) = %d", name, ScramMechanismType(name))
		}
	}
	if ScramMechanismType(MechanismPlain) != 0 {
		t.Fatal("PLAIN has a SCRAM type")
	}
}
