package gateway_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Broker configs need DESCRIBE_CONFIGS and ALTER_CONFIGS on the cluster,
// as in Kafka; a change made on one gateway applies on another on the
// same store within a second.
func TestBrokerConfigsAuthorizedAndShared(t *testing.T) {
	e := newACLEnv(t)
	a, _ := e.gateway()
	b, _ := e.gateway()
	admin := kadm.NewClient(client(t, a, "admin"))
	alice := kadm.NewClient(client(t, b, "alice"))

	describe := func() error {
		rcs, err := alice.DescribeBrokerConfigs(ctx10(t))
		if err != nil {
			return err
		}
		return rcs[0].Err
	}
	alter := func(adm *kadm.Client, value string) error {
		rs, err := adm.AlterBrokerConfigs(ctx10(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "num.partitions", Value: &value}})
		if err != nil {
			return err
		}
		return rs[0].Err
	}
	if err := describe(); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alice describes broker configs without an ACL: %v", err)
	}
	if err := alter(alice, "2"); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alice alters broker configs without an ACL: %v", err)
	}
	grant := func(op kadm.ACLOperation) {
		t.Helper()
		res, err := admin.CreateACLs(ctx10(t), kadm.NewACLs().Allow("User:alice").Clusters().Operations(op))
		if err != nil || res[0].Err != nil {
			t.Fatalf("grant %v: %v %+v", op, err, res)
		}
	}
	grant(kadm.OpDescribeConfigs)
	eventually(t, "alice describes with DESCRIBE_CONFIGS", describe)
	if err := alter(alice, "2"); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alice alters with only DESCRIBE_CONFIGS: %v", err)
	}

	// The admin's change on gateway a shows on gateway b.
	if err := alter(admin, "4"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "gateway b sees num.partitions=4", func() error {
		rcs, err := alice.DescribeBrokerConfigs(ctx10(t))
		if err != nil {
			return err
		}
		for _, c := range rcs[0].Configs {
			if c.Key == "num.partitions" && c.MaybeValue() == "4" && c.Source == kmsg.ConfigSourceDynamicDefaultBrokerConfig {
				return nil
			}
		}
		return fmt.Errorf("described %+v", rcs[0].Configs)
	})
	grant(kadm.OpAlterConfigs)
	eventually(t, "alice alters with ALTER_CONFIGS", func() error { return alter(alice, "6") })
}
