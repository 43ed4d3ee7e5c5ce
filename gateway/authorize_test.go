package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/gateway/auth"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// aclEnv is one SQLite store and bucket under gateways with ACLs on,
// admin a super user, and users alice, bob and admin.
type aclEnv struct {
	t      *testing.T
	dir    string
	bucket objstore.Bucket
}

func newACLEnv(t *testing.T) *aclEnv {
	t.Helper()
	dir := t.TempDir()
	bucket, err := objstore.Open(context.Background(), "file://"+filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	e := &aclEnv{t: t, dir: dir, bucket: bucket}
	store := e.store()
	for _, user := range []string{"admin", "alice", "bob"} {
		cred, err := auth.NewScramCredential(user, auth.MechanismScramSHA512, user+"-secret", 4096)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.PutScramCredential(context.Background(), cred); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// store opens the environment's metadata store (once per gateway, as
// separate processes would).
func (e *aclEnv) store() metadata.Store {
	s, err := metadata.Open(context.Background(), "sqlite://"+filepath.Join(e.dir, "metadata.db"), metadata.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// gateway starts a gateway with a SASL_PLAINTEXT listener and ACLs on,
// and returns its address and a function that closes it (it is closed
// with the test anyway).
func (e *aclEnv) gateway() (string, func()) {
	t := e.t
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	g, err := gateway.New(gateway.Config{
		Advertise:     addr,
		NodeID:        -1,
		FlushInterval: 5 * time.Millisecond,
		Listeners:     []gateway.Listener{{Name: "SASL_PLAINTEXT", Protocol: gateway.SASLPlaintext, Advertise: addr}},
		SASL:          gateway.SASLConfig{Mechanisms: []string{auth.MechanismScramSHA512}},
		Authorizer:    gateway.AuthorizerConfig{Enabled: true, SuperUsers: []string{"User:admin"}},
	}, e.store(), e.bucket)
	if err != nil {
		t.Fatal(err)
	}
	go g.ServeListener(ln, "SASL_PLAINTEXT")
	closeGateway := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.Close(ctx)
	}
	t.Cleanup(closeGateway)
	return addr, closeGateway
}

func client(t *testing.T, addr, user string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr),
		kgo.SASL(scram.Auth{User: user, Pass: user + "-secret"}.AsSha512Mechanism())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually retries check for up to two seconds: ACL changes reach
// other gateways within a second.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func produceTo(t *testing.T, cl *kgo.Client, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
}

// The ACL model end to end with real clients: WRITE and READ per topic,
// Metadata hiding topics the principal may not describe, prefixed ACLs,
// DENY over ALLOW, group READ, and the admin APIs refused to a principal
// without ALTER on the cluster. Every ACL is created through another
// gateway than the one the clients use, closed before they use theirs:
// a change must reach it within a second.
func TestACLsEnforced(t *testing.T) {
	e := newACLEnv(t)
	b, _ := e.gateway()
	change := func(acls *kadm.ACLBuilder, topics ...string) {
		t.Helper()
		a, closeA := e.gateway()
		defer closeA()
		admin := kadm.NewClient(client(t, a, "admin"))
		if len(topics) > 0 {
			if _, err := admin.CreateTopics(ctx10(t), 1, 1, nil, topics...); err != nil {
				t.Fatal(err)
			}
		}
		res, err := admin.CreateACLs(ctx10(t), acls)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("create ACL: %v", r.Err)
			}
		}
	}
	change(kadm.NewACLs().Allow("User:alice").Topics("orders").Groups("audit").Operations(kadm.OpRead),
		"orders", "payments-eu", "payments-us")
	change(kadm.NewACLs().Allow("User:bob").Topics("payments-").ResourcePatternType(kadm.ACLPatternPrefixed).
		Operations(kadm.OpWrite))

	alice := client(t, b, "alice")
	bob := client(t, b, "bob")
	eventually(t, "bob writes to payments-eu", func() error { return produceTo(t, bob, "payments-eu") })
	if err := produceTo(t, bob, "payments-us"); err != nil {
		t.Errorf("bob writes to payments-us (prefixed ACL): %v", err)
	}
	if err := produceTo(t, bob, "orders"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("bob writes to orders: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	// Without WRITE anywhere, an idempotent producer cannot even get a
	// producer id, as in Kafka; a plain one is refused per topic.
	if err := produceTo(t, alice, "orders"); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Errorf("alice's idempotent producer: %v, want CLUSTER_AUTHORIZATION_FAILED", err)
	}
	if err := produceTo(t, client(t, b, "alice", kgo.DisableIdempotentWrite()), "orders"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("alice writes to orders (READ only): %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if err := produceTo(t, client(t, b, "admin"), "orders"); err != nil {
		t.Fatalf("the super user writes to orders: %v", err)
	}

	topics, err := kadm.NewClient(alice).ListTopics(ctx10(t))
	if err != nil {
		t.Fatal(err)
	}
	if names := topics.Names(); !slices.Equal(names, []string{"orders"}) {
		t.Errorf("alice's Metadata lists %v, want only orders", names)
	}

	consume := func(user string) error {
		cl := client(t, b, user, kgo.ConsumeTopics("orders"), kgo.ConsumerGroup("audit"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fs := cl.PollRecords(ctx, 1)
		if err := fs.Err(); err != nil {
			return err
		}
		if fs.NumRecords() == 0 {
			return errors.New("no record")
		}
		return nil
	}
	if err := consume("alice"); err != nil {
		t.Errorf("alice reads orders in group audit: %v", err)
	}
	if err := consume("bob"); err == nil {
		t.Error("bob read orders without READ")
	}

	change(kadm.NewACLs().Deny("User:alice").Topics("orders").Operations(kadm.OpRead))
	eventually(t, "DENY READ beats ALLOW READ", func() error {
		cl := client(t, b, "alice", kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
			return fmt.Errorf("alice's fetch of orders: %v records, error %v", fs.NumRecords(), err)
		}
		return nil
	})

	if res, err := kadm.NewClient(alice).CreateACLs(ctx10(t), kadm.NewACLs().Allow("User:alice").Topics("payments-eu").
		Operations(kadm.OpWrite)); err == nil && res[0].Err == nil {
		t.Error("alice created an ACL without ALTER on the cluster")
	} else if err == nil && !errors.Is(res[0].Err, kerr.ClusterAuthorizationFailed) {
		t.Errorf("alice's CreateAcls: %v, want CLUSTER_AUTHORIZATION_FAILED", res[0].Err)
	}
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	described, err := req.RequestWith(ctx10(t), client(t, b, "admin"))
	if err != nil || described.ErrorCode != 0 {
		t.Fatalf("describe ACLs: %v %v", err, described)
	}
	n := 0
	for _, r := range described.Resources {
		n += len(r.ACLs)
	}
	if n != 4 {
		t.Errorf("DescribeAcls lists %d bindings, want 4", n)
	}
}
