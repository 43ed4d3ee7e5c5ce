package metadata_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/caudal/caudal/metadata"
)

func scramCred(user, mech string, iters int, fill byte) metadata.ScramCredential {
	return metadata.ScramCredential{
		User: user, Mechanism: mech, Iterations: iters,
		Salt:      bytes.Repeat([]byte{fill}, 16),
		StoredKey: bytes.Repeat([]byte{fill + 1}, 32),
		ServerKey: bytes.Repeat([]byte{fill + 2}, 32),
	}
}

func sameCred(a, b metadata.ScramCredential) bool {
	return a.User == b.User && a.Mechanism == b.Mechanism && a.Iterations == b.Iterations &&
		bytes.Equal(a.Salt, b.Salt) && bytes.Equal(a.StoredKey, b.StoredKey) && bytes.Equal(a.ServerKey, b.ServerKey)
}

func TestScramCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		_, err := s.ScramCredential(ctx, "alice", "SCRAM-SHA-256")
		wantErr(t, err, metadata.ErrNotFound)
		wantErr(t, s.DeleteScramCredential(ctx, "alice", "SCRAM-SHA-256"), metadata.ErrNotFound)
		if infos, err := s.ScramCredentialInfos(ctx, nil); err != nil || len(infos) != 0 {
			t.Fatalf("infos of an empty store = %v, %v", infos, err)
		}

		// Names differ in case and in bytes that collations order
		// differently; the store keeps them apart and orders bytewise.
		creds := []metadata.ScramCredential{
			scramCred("alice", "SCRAM-SHA-256", 4096, 1),
			scramCred("alice", "SCRAM-SHA-512", 8192, 2),
			scramCred("Alice", "SCRAM-SHA-512", 4096, 3),
			scramCred("bob, the =builder", "SCRAM-SHA-256", 16384, 4),
			scramCred("émile", "SCRAM-SHA-256", 4096, 5),
		}
		for _, c := range creds {
			if err := s.PutScramCredential(ctx, c); err != nil {
				t.Fatalf("put %s/%s: %v", c.User, c.Mechanism, err)
			}
		}
		for _, c := range creds {
			got, err := s.ScramCredential(ctx, c.User, c.Mechanism)
			if err != nil || !sameCred(got, c) {
				t.Fatalf("ScramCredential(%s, %s) = %+v, %v; want %+v", c.User, c.Mechanism, got, err, c)
			}
		}
		_, err = s.ScramCredential(ctx, "ALICE", "SCRAM-SHA-256")
		wantErr(t, err, metadata.ErrNotFound)

		// An upsert replaces every field of its own row only.
		changed := scramCred("alice", "SCRAM-SHA-256", 5000, 9)
		if err := s.PutScramCredential(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ScramCredential(ctx, "alice", "SCRAM-SHA-256"); err != nil || !sameCred(got, changed) {
			t.Fatalf("after upsert: %+v, %v", got, err)
		}
		if got, err := s.ScramCredential(ctx, "alice", "SCRAM-SHA-512"); err != nil || !sameCred(got, creds[1]) {
			t.Fatalf("the other mechanism after upsert: %+v, %v", got, err)
		}

		all := []metadata.ScramCredentialInfo{
			{"Alice", "SCRAM-SHA-512", 4096},
			{"alice", "SCRAM-SHA-256", 5000},
			{"alice", "SCRAM-SHA-512", 8192},
			{"bob, the =builder", "SCRAM-SHA-256", 16384},
			{"émile", "SCRAM-SHA-256", 4096},
		}
		for _, tc := range []struct {
			users []string
			want  []metadata.ScramCredentialInfo
		}{
			{nil, all},
			{[]string{}, all},
			{[]string{"alice"}, all[1:3]},
			{[]string{"émile", "nobody", "alice", "alice"}, []metadata.ScramCredentialInfo{all[1], all[2], all[4]}},
			{[]string{"nobody"}, nil},
		} {
			got, err := s.ScramCredentialInfos(ctx, tc.users)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("ScramCredentialInfos(%q) = %v, %v; want %v", tc.users, got, err, tc.want)
			}
		}

		if err := s.DeleteScramCredential(ctx, "alice", "SCRAM-SHA-256"); err != nil {
			t.Fatal(err)
		}
		_, err = s.ScramCredential(ctx, "alice", "SCRAM-SHA-256")
		wantErr(t, err, metadata.ErrNotFound)
		wantErr(t, s.DeleteScramCredential(ctx, "alice", "SCRAM-SHA-256"), metadata.ErrNotFound)
		if got, err := s.ScramCredentialInfos(ctx, []string{"alice"}); err != nil || !slices.Equal(got, all[2:3]) {
			t.Fatalf("after delete: %v, %v", got, err)
		}
	})
}

// A list of more users than one IN list takes is read in chunks.
func TestScramCredentialInfosManyUsers(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		var users []string
		for i := range 1200 {
			u := string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('A'+i/260))
			users = append(users, u)
			if i%3 == 0 {
				if err := e.s.PutScramCredential(ctx, scramCred(u, "SCRAM-SHA-512", 4096, 1)); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := e.s.ScramCredentialInfos(ctx, users)
		if err != nil || len(got) != 400 {
			t.Fatalf("got %d infos, %v; want 400", len(got), err)
		}
		if !slices.IsSortedFunc(got, func(a, b metadata.ScramCredentialInfo) int { return bytes.Compare([]byte(a.User), []byte(b.User)) }) {
			t.Fatal("infos are not in user order")
		}
	})
}
