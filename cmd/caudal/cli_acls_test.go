package main

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// aclPlan parses args as `caudal acls` does and returns the plan's
// resources and entries, one "RESOURCE ENTRY" line each.
func aclPlan(t *testing.T, args ...string) ([]string, error) {
	t.Helper()
	fs := flag.NewFlagSet("acls", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	acts := registerActions(fs, "ACLs", "add", "remove", "list")
	var f aclFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	action, pattern, err := f.check(fs, acts)
	if err != nil {
		return nil, err
	}
	plan, err := f.plan(fs, action, pattern)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, ra := range plan {
		if len(ra.entries) == 0 {
			lines = append(lines, ra.resource.String()+" all")
		}
		for _, e := range ra.entries {
			lines = append(lines, ra.resource.String()+" "+e.String())
		}
	}
	return lines, nil
}

func TestACLPlan(t *testing.T) {
	topic := func(name string) string {
		return "ResourcePattern(resourceType=TOPIC, name=" + name + ", patternType=LITERAL) "
	}
	group := "ResourcePattern(resourceType=GROUP, name=g, patternType=LITERAL) "
	cluster := "ResourcePattern(resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL) "
	txn := "ResourcePattern(resourceType=TRANSACTIONAL_ID, name=tx, patternType=LITERAL) "
	alice := func(op string) string {
		return "(principal=User:alice, host=*, operation=" + op + ", permissionType=ALLOW)"
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--add", "--allow-principal", "User:alice", "--topic", "t"}, []string{topic("t") + alice("ALL")}},
		{[]string{"--add", "--allow-principal", "User:alice", "--operation", "Read", "--operation", "IdempotentWrite", "--cluster"},
			nil}, // READ is no cluster operation: refused below
		{[]string{"--add", "--allow-principal", "User:alice", "--producer", "--topic", "t"},
			[]string{topic("t") + alice("WRITE"), topic("t") + alice("DESCRIBE"), topic("t") + alice("CREATE")}},
		{[]string{"--add", "--allow-principal", "User:alice", "--producer", "--idempotent", "--topic", "t", "--transactional-id", "tx"},
			[]string{topic("t") + alice("WRITE"), topic("t") + alice("DESCRIBE"), topic("t") + alice("CREATE"),
				txn + alice("WRITE"), txn + alice("DESCRIBE"), cluster + alice("IDEMPOTENT_WRITE")}},
		{[]string{"--add", "--allow-principal", "User:alice", "--consumer", "--topic", "t", "--group", "g"},
			[]string{topic("t") + alice("READ"), topic("t") + alice("DESCRIBE"), group + alice("READ")}},
		{[]string{"--add", "--allow-principal", "User:alice", "--producer", "--consumer", "--topic", "t", "--group", "g"},
			[]string{topic("t") + alice("WRITE"), topic("t") + alice("DESCRIBE"), topic("t") + alice("CREATE"),
				topic("t") + alice("READ"), group + alice("READ")}},
		{[]string{"--add", "--allow-principal", "User:a", "--allow-host", "10.0.0.1", "--deny-principal", "User:b",
			"--operation", "describe", "--group", "g"},
			[]string{group + "(principal=User:a, host=10.0.0.1, operation=DESCRIBE, permissionType=ALLOW)",
				group + "(principal=User:b, host=*, operation=DESCRIBE, permissionType=DENY)"}},
		{[]string{"--add", "--allow-principal", "User:a", "--topic", "orders-", "--resource-pattern-type", "prefixed"},
			[]string{"ResourcePattern(resourceType=TOPIC, name=orders-, patternType=PREFIXED) (principal=User:a, host=*, operation=ALL, permissionType=ALLOW)"}},
		{[]string{"--remove", "--topic", "t", "--resource-pattern-type", "any"},
			[]string{"ResourcePattern(resourceType=TOPIC, name=t, patternType=ANY) all"}},
	} {
		got, err := aclPlan(t, tc.args...)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%v: planned %q; want a refusal", tc.args, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%v:\n got %q, %v\nwant %q", tc.args, got, err, tc.want)
		}
	}
}

func TestACLChecks(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--topic", "t"}, "exactly one action"},
		{[]string{"--add", "--list", "--topic", "t"}, "exactly one action"},
		{[]string{"--list", "--allow-principal", "User:a"}, `Option "--list" can't be used with option "--allow-principal"`},
		{[]string{"--add", "--producer", "--operation", "Read", "--topic", "t"}, `Option "--producer" can't be used with option "--operation"`},
		{[]string{"--add", "--consumer", "--deny-principal", "User:a", "--topic", "t", "--group", "g"}, `"--consumer" can't be used with option "--deny-principal"`},
		{[]string{"--add", "--principal", "User:a", "--topic", "t"}, "only available if --list is set"},
		{[]string{"--add", "--producer", "--allow-principal", "User:a"}, "With --producer you must specify a --topic"},
		{[]string{"--add", "--idempotent", "--allow-principal", "User:a", "--topic", "t"}, "only available if --producer is set"},
		{[]string{"--add", "--consumer", "--allow-principal", "User:a", "--topic", "t"}, "With --consumer you must specify a --topic and a --group"},
		{[]string{"--add", "--allow-principal", "User:a", "--topic", "t", "--resource-pattern-type", "match"}, "'MATCH' is not valid when adding acls"},
		{[]string{"--list", "--resource-pattern-type", "glob"}, "Unknown resource-pattern-type: glob"},
		{[]string{"--add", "--allow-principal", "User:a"}, "You must provide at least one resource"},
		{[]string{"--add", "--topic", "t"}, "You must specify one of: --allow-principal, --deny-principal"},
		{[]string{"--add", "--allow-principal", "alice", "--topic", "t"}, "format principalType:principalName but got alice"},
		{[]string{"--add", "--allow-principal", "User:a", "--operation", "Fly", "--topic", "t"}, `unknown --operation "Fly"`},
		{[]string{"--add", "--allow-principal", "User:a", "--operation", "Write", "--group", "g"}, "ResourceType GROUP only supports operations READ, DESCRIBE"},
	} {
		_, err := aclPlan(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v; want one containing %q", tc.args, err, tc.want)
		}
	}
}

// A bad principal is one mistake, however many roles and resources it
// would be given operations on.
func TestACLBadPrincipalOnce(t *testing.T) {
	_, err := aclPlan(t, "--add", "--producer", "--consumer", "--idempotent", "--topic", "t", "--group", "g", "--allow-principal", "bad")
	const want = "format principalType:principalName but got bad"
	if err == nil || strings.Count(err.Error(), want) != 1 {
		t.Fatalf("error %v; want %q once", err, want)
	}
}

func TestOperationNames(t *testing.T) {
	got := strings.Join(operationNames(aclOperations), ",")
	want := "Read,Write,Create,Delete,Alter,Describe,ClusterAction,DescribeConfigs,AlterConfigs,IdempotentWrite,All"
	if got != want {
		t.Fatalf("operationNames = %s, want %s", got, want)
	}
	for _, name := range []string{"IdempotentWrite", "IDEMPOTENT_WRITE", "idempotent-write"} {
		f := aclFlags{operations: repeated{name}}
		if ops, err := f.parsedOperations(); err != nil || !slices.Equal(ops, []kmsg.ACLOperation{kmsg.ACLOperationIdempotentWrite}) {
			t.Errorf("parsedOperations(%s) = %v, %v", name, ops, err)
		}
	}
}
