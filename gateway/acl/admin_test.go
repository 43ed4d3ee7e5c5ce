package acl_test

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/gateway/acl"
)

// anyFilter matches every binding; cases narrow it.
func anyFilter() acl.Filter {
	return acl.Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny,
		Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
}

// filterOf matches exactly b.
func filterOf(b acl.Binding) acl.Filter {
	return acl.Filter{ResourceType: b.ResourceType, ResourceName: &b.ResourceName, PatternType: b.PatternType,
		Principal: &b.Principal, Host: &b.Host, Operation: b.Operation, Permission: b.Permission}
}

func sorted(bs []acl.Binding) []acl.Binding {
	bs = slices.Clone(bs)
	slices.SortFunc(bs, func(a, b acl.Binding) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return bs
}

func sameBindings(t *testing.T, what string, got, want []acl.Binding) {
	t.Helper()
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("%s = %v, want %v", what, sorted(got), sorted(want))
	}
}

var (
	bOrders    = bind(allow, topic, literal, "orders", alice, read)
	bWildcard  = bind(allow, topic, literal, "*", bob, write)
	bPrefix    = from(bind(deny, topic, prefixed, "ord", "User:carol", read), "10.0.0.1")
	bOther     = bind(allow, topic, prefixed, "x", alice, read)
	bGroup     = bind(allow, group, literal, "orders", alice, read)
	adminNames = []acl.Binding{bOrders, bWildcard, bPrefix, bOther, bGroup}
)

func str(s string) *string { return &s }

// TestDescribeFilters: DescribeAcls's filter semantics: ANY, MATCH
// (everything that applies to the named resource) and exact values.
func TestDescribeFilters(t *testing.T) {
	a := started(t, acl.Config{}, adminNames...)
	with := func(change func(*acl.Filter)) acl.Filter {
		f := anyFilter()
		change(&f)
		return f
	}
	cases := []struct {
		name   string
		filter acl.Filter
		want   []acl.Binding
	}{
		{"any", anyFilter(), adminNames},
		{"topics", with(func(f *acl.Filter) { f.ResourceType = topic }), []acl.Binding{bOrders, bWildcard, bPrefix, bOther}},
		{"name with any pattern is exact", with(func(f *acl.Filter) { f.ResourceType = topic; f.ResourceName = str("orders") }),
			[]acl.Binding{bOrders}},
		{"match", with(func(f *acl.Filter) {
			f.ResourceType = topic
			f.ResourceName = str("orders")
			f.PatternType = kmsg.ACLResourcePatternTypeMatch
		}), []acl.Binding{bOrders, bWildcard, bPrefix}},
		{"match without a name", with(func(f *acl.Filter) { f.ResourceType = topic; f.PatternType = kmsg.ACLResourcePatternTypeMatch }),
			[]acl.Binding{bOrders, bWildcard, bPrefix, bOther}},
		{"match of any type", with(func(f *acl.Filter) { f.ResourceName = str("orders"); f.PatternType = kmsg.ACLResourcePatternTypeMatch }),
			[]acl.Binding{bOrders, bWildcard, bPrefix, bGroup}},
		{"literal", with(func(f *acl.Filter) { f.ResourceName = str("orders"); f.PatternType = literal }), []acl.Binding{bOrders, bGroup}},
		{"prefixed by name", with(func(f *acl.Filter) { f.ResourceName = str("ord"); f.PatternType = prefixed }), []acl.Binding{bPrefix}},
		{"prefixed", with(func(f *acl.Filter) { f.PatternType = prefixed }), []acl.Binding{bPrefix, bOther}},
		{"principal", with(func(f *acl.Filter) { f.Principal = str(alice) }), []acl.Binding{bOrders, bOther, bGroup}},
		{"host", with(func(f *acl.Filter) { f.Host = str("10.0.0.1") }), []acl.Binding{bPrefix}},
		{"operation", with(func(f *acl.Filter) { f.Operation = write }), []acl.Binding{bWildcard}},
		{"permission", with(func(f *acl.Filter) { f.Permission = deny }), []acl.Binding{bPrefix}},
		{"exact", filterOf(bOther), []acl.Binding{bOther}},
		{"nothing", with(func(f *acl.Filter) { f.Principal = str("User:nobody") }), nil},
	}
	for _, c := range cases {
		got, err := a.Describe(c.filter)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		sameBindings(t, c.name, got, c.want)
	}
}

// invalidFilters are filters Kafka refuses as unknown.
var invalidFilters = map[string]acl.Filter{
	"unknown resource type":  {ResourceType: kmsg.ACLResourceTypeUnknown, PatternType: 1, Operation: 1, Permission: 1},
	"resource type too high": {ResourceType: 8, PatternType: 1, Operation: 1, Permission: 1},
	"unknown pattern type":   {ResourceType: 1, PatternType: kmsg.ACLResourcePatternTypeUnknown, Operation: 1, Permission: 1},
	"unknown operation":      {ResourceType: 1, PatternType: 1, Operation: kmsg.ACLOperationUnknown, Permission: 1},
	"operation too high":     {ResourceType: 1, PatternType: 1, Operation: 15, Permission: 1},
	"unknown permission":     {ResourceType: 1, PatternType: 1, Operation: 1, Permission: kmsg.ACLPermissionTypeUnknown},
}

func TestDescribeInvalidFilters(t *testing.T) {
	a := started(t, acl.Config{})
	for name, f := range invalidFilters {
		if _, err := a.Describe(f); !errors.Is(err, acl.ErrInvalid) {
			t.Errorf("%s: Describe error %v, want ErrInvalid", name, err)
		}
	}
}

// TestDelete: each filter reports every deleted binding it selects, an
// invalid filter fails alone, and the deletion applies at once.
func TestDelete(t *testing.T) {
	a := started(t, acl.Config{}, adminNames...)
	byAlice := anyFilter()
	byAlice.Principal = str(alice)
	groups := anyFilter()
	groups.ResourceType = group
	results, errs := a.Delete(ctx, []acl.Filter{byAlice, invalidFilters["unknown operation"], groups})
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], acl.ErrInvalid) {
		t.Fatalf("errors %v", errs)
	}
	sameBindings(t, "deleted by principal", results[0], []acl.Binding{bOrders, bOther, bGroup})
	sameBindings(t, "deleted by the invalid filter", results[1], nil)
	sameBindings(t, "deleted by type", results[2], []acl.Binding{bGroup})

	left, _ := a.Describe(anyFilter())
	sameBindings(t, "left", left, []acl.Binding{bWildcard, bPrefix})
	if a.For(alice, any4).Allowed(read, topic, "orders") {
		t.Error("a deleted binding still allows")
	}

	results, errs = a.Delete(ctx, []acl.Filter{byAlice})
	if errs[0] != nil || len(results[0]) != 0 {
		t.Errorf("deleting again = %v, %v", results, errs)
	}
}

// TestCreateValidation: what Kafka refuses with INVALID_REQUEST fails
// alone; the valid bindings of the same call are stored, and creating an
// existing binding succeeds.
func TestCreateValidation(t *testing.T) {
	a := started(t, acl.Config{}, bOrders)
	with := func(change func(*acl.Binding)) acl.Binding {
		b := bOther
		change(&b)
		return b
	}
	invalid := map[string]acl.Binding{
		"any resource type":     with(func(b *acl.Binding) { b.ResourceType = kmsg.ACLResourceTypeAny }),
		"unknown resource type": with(func(b *acl.Binding) { b.ResourceType = 42 }),
		"match pattern":         with(func(b *acl.Binding) { b.PatternType = kmsg.ACLResourcePatternTypeMatch }),
		"any pattern":           with(func(b *acl.Binding) { b.PatternType = kmsg.ACLResourcePatternTypeAny }),
		"any operation":         with(func(b *acl.Binding) { b.Operation = kmsg.ACLOperationAny }),
		"unknown operation":     with(func(b *acl.Binding) { b.Operation = 99 }),
		"any permission":        with(func(b *acl.Binding) { b.Permission = kmsg.ACLPermissionTypeAny }),
		"unknown permission":    with(func(b *acl.Binding) { b.Permission = kmsg.ACLPermissionTypeUnknown }),
		"empty name":            with(func(b *acl.Binding) { b.ResourceName = "" }),
		"other cluster name":    with(func(b *acl.Binding) { b.ResourceType = cluster; b.ResourceName = "c" }),
		"empty principal":       with(func(b *acl.Binding) { b.Principal = "" }),
		"principal no type":     with(func(b *acl.Binding) { b.Principal = "alice" }),
		"principal empty name":  with(func(b *acl.Binding) { b.Principal = "User:" }),
	}
	var bindings []acl.Binding
	var names []string
	for name, b := range invalid {
		bindings = append(bindings, b)
		names = append(names, name)
	}
	valid := bind(allow, cluster, literal, acl.ClusterName, alice, idempotentWrite)
	bindings = append(bindings, valid, bOrders)
	errs := a.Create(ctx, bindings)
	for i, name := range names {
		if !errors.Is(errs[i], acl.ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", name, errs[i])
		}
	}
	if errs[len(names)] != nil || errs[len(names)+1] != nil {
		t.Errorf("valid bindings: %v, %v", errs[len(names)], errs[len(names)+1])
	}
	got, _ := a.Describe(anyFilter())
	sameBindings(t, "stored", got, []acl.Binding{bOrders, valid})
}

// TestStoreFailure: a failing store fails every valid binding or filter
// of the call, with the store's error.
func TestStoreFailure(t *testing.T) {
	store := &memStore{}
	a := started(t, acl.Config{Store: store})
	store.mu.Lock()
	store.fail = errDown
	store.mu.Unlock()
	errs := a.Create(ctx, []acl.Binding{bOrders, {}})
	if !errors.Is(errs[0], errDown) || !errors.Is(errs[1], acl.ErrInvalid) {
		t.Errorf("Create errors %v", errs)
	}
	_, errs = a.Delete(ctx, []acl.Filter{anyFilter()})
	if !errors.Is(errs[0], errDown) {
		t.Errorf("Delete errors %v", errs)
	}
}
