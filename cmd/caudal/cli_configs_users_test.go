package main

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/caudal/caudal/gateway/auth"
)

func TestScramChanges(t *testing.T) {
	c := configsCmd{name: "alice", add: "SCRAM-SHA-256=[iterations=8192,password=a,b=c],SCRAM-SHA-512=[password=x]", remove: "SCRAM-SHA-512"}
	changes, err := c.scramChanges()
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 3 {
		t.Fatalf("%d changes, want one request per credential: %+v", len(changes), changes)
	}
	if u := changes[0].upsert; len(u) != 1 || u[0].User != "alice" || u[0].Mechanism != kadm.ScramSha256 || u[0].Iterations != 8192 || u[0].Password != "a,b=c" {
		t.Errorf("first change %+v", changes[0])
	}
	if u := changes[1].upsert; len(u) != 1 || u[0].Mechanism != kadm.ScramSha512 || u[0].Iterations != auth.DefaultIterations || u[0].Password != "x" {
		t.Errorf("second change %+v", changes[1])
	}
	if d := changes[2].delete; len(d) != 1 || d[0] != (kadm.DeleteSCRAM{User: "alice", Mechanism: kadm.ScramSha512}) {
		t.Errorf("third change %+v", changes[2])
	}
}

func TestScramChangesRefuseWithoutEchoingPasswords(t *testing.T) {
	for _, tc := range []struct{ add, remove, want string }{
		{"SCRAM-SHA-256=[iterations=100,password=hunter2]", "", "Iterations 100 is less than the minimum 4096 required for SCRAM-SHA-256"},
		{"SCRAM-SHA-512=[iterations=99999,password=hunter2]", "", "more than the maximum 16384"},
		{"SCRAM-SHA-512=[hunter2]", "", "invalid credential property SCRAM-SHA-512"},
		{"SCRAM-SHA-512=[password=hunter2,iterations=8192]", "", ""}, // Kafka's form puts the password last: it is all password
		{"consumer_byte_rate=1024", "", "Unexpected config names: consumer_byte_rate"},
		{"", "SCRAM-SHA-1", "Unexpected config names: SCRAM-SHA-1"},
	} {
		c := configsCmd{name: "alice", add: tc.add, remove: tc.remove}
		_, err := c.scramChanges()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.add, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s %s: error %v; want one containing %q and no password", tc.add, tc.remove, err, tc.want)
		}
	}
}
