package main

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

func TestJavaDouble(t *testing.T) {
	for v, want := range map[float64]string{
		1024: "1024.0", 12.5: "12.5", 0: "0.0", 1e7: "1.0E7", 10485760: "1.048576E7",
		9999999: "9999999.0", 0.001: "0.001", 0.0001: "1.0E-4", 1.5e300: "1.5E300",
	} {
		if got := javaDouble(v); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestQuotaLine(t *testing.T) {
	alice, app := "alice", "app"
	q := kadm.DescribedClientQuota{
		Entity: kadm.ClientQuotaEntity{{Type: "client-id", Name: &app}, {Type: "user", Name: &alice}},
		Values: kadm.ClientQuotaValues{{Key: "producer_byte_rate", Value: 1024}, {Key: "consumer_byte_rate", Value: 2e7}},
	}
	want := "Quota configs for user-principal 'alice', client-id 'app' are consumer_byte_rate=2.0E7, producer_byte_rate=1024.0"
	if got := quotaLine(q); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	q = kadm.DescribedClientQuota{Entity: kadm.ClientQuotaEntity{{Type: "ip"}}, Values: kadm.ClientQuotaValues{{Key: "connection_creation_rate", Value: 5}}}
	if got := quotaLine(q); got != "Quota configs for the default ip are connection_creation_rate=5.0" {
		t.Errorf("default ip: %s", got)
	}
}

func TestClassifyConfigs(t *testing.T) {
	for _, tc := range []struct {
		entityType  string
		adds, dels  []string
		quota, scrm bool
		err         string
	}{
		{"users", []string{"producer_byte_rate"}, nil, true, false, ""},
		{"users", []string{"SCRAM-SHA-256"}, []string{"consumer_byte_rate"}, true, true, ""},
		{"users", []string{"connection_creation_rate"}, nil, false, false, "Only quota and SCRAM credential configs can be added for 'users'"},
		{"clients", []string{"SCRAM-SHA-512"}, nil, false, false, "Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: SCRAM-SHA-512"},
		{"ips", nil, []string{"producer_byte_rate"}, false, false, "Only connection quota configs can be deleted for 'ips'"},
		{"ips", []string{"connection_creation_rate"}, nil, true, false, ""},
	} {
		c := configsCmd{entityType: tc.entityType}
		q, s, err := c.classifyConfigs(tc.adds, tc.dels)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %v %v: %v, want %q", tc.entityType, tc.adds, tc.dels, err, tc.err)
			}
			continue
		}
		if err != nil || q != tc.quota || s != tc.scrm {
			t.Errorf("%s %v %v: quota %v scram %v err %v", tc.entityType, tc.adds, tc.dels, q, s, err)
		}
	}
}
