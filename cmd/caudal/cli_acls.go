package main

// caudal acls (kafka-acls): add, remove and list ACLs with the flags,
// the --producer and --consumer expansions, the checks and the output of
// Kafka's AclCommand.

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/gateway/acl"
)

type aclFlags struct {
	allowPrincipals, denyPrincipals  repeated
	allowHosts, denyHosts            repeated
	operations, listPrincipals       repeated
	topics, groups, transactionalIDs repeated
	cluster, producer, consumer      bool
	idempotent, force                bool
	patternType                      string
	// given holds the flags on the command line, for Kafka's checks of
	// which options go together.
	given map[string]bool
}

func runACLs(prog string, args []string) error {
	fs, conn := newToolFlags(prog, "--add|--remove|--list [--allow-principal P] [--operation OP] [--topic T] [--group G] [--cluster] [flags]")
	acts := registerActions(fs, "ACLs", "add", "remove", "list")
	var f aclFlags
	f.register(fs)
	if err := parseToolFlags(fs, args); err != nil {
		return err
	}
	action, pattern, err := f.check(fs, acts)
	if err != nil {
		return err
	}
	var plan []resourceACLs
	if action != "list" {
		if plan, err = f.plan(fs, action, pattern); err != nil {
			return err
		}
	}
	err = conn.withClient(func(cl *kgo.Client) error {
		c := &aclsCmd{cl: cl, force: f.force, stdin: bufio.NewReader(os.Stdin)}
		switch action {
		case "add":
			return c.add(plan)
		case "remove":
			return c.remove(plan)
		}
		return c.list(f.resources(pattern), f.listPrincipals)
	})
	if err != nil {
		return fmt.Errorf("Error while executing ACL command: %w", err)
	}
	return nil
}

func (f *aclFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.allowPrincipals, "allow-principal", "principal `Type:name` to allow, e.g. User:alice or User:*; repeatable")
	fs.Var(&f.denyPrincipals, "deny-principal", "principal `Type:name` to deny (DENY wins over ALLOW); repeatable")
	fs.Var(&f.allowHosts, "allow-host", "`host` the allowed principals may come from (default * with --allow-principal); repeatable")
	fs.Var(&f.denyHosts, "deny-host", "`host` the denied principals are denied from (default * with --deny-principal); repeatable")
	fs.Var(&f.operations, "operation", "`operation`: "+strings.Join(operationNames(aclOperations), ", ")+" (default All); repeatable")
	fs.Var(&f.listPrincipals, "principal", "--list: only the ACLs of this `Type:name`; repeatable")
	fs.Var(&f.topics, "topic", "`topic` (or prefix, or * for all topics); repeatable")
	fs.Var(&f.groups, "group", "consumer `group` (or prefix, or * for all groups); repeatable")
	fs.Var(&f.transactionalIDs, "transactional-id", "transactional `id` (or prefix, or * for all); repeatable")
	fs.BoolVar(&f.cluster, "cluster", false, "the cluster resource")
	fs.StringVar(&f.patternType, "resource-pattern-type", "literal", "`literal` or prefixed; to list or remove also any or match")
	fs.BoolVar(&f.producer, "producer", false, "the producer's ACLs: WRITE, DESCRIBE and CREATE on --topic, WRITE and DESCRIBE on --transactional-id")
	fs.BoolVar(&f.consumer, "consumer", false, "the consumer's ACLs: READ and DESCRIBE on --topic, READ on --group")
	fs.BoolVar(&f.idempotent, "idempotent", false, "with --producer: also IDEMPOTENT_WRITE on the cluster")
	fs.BoolVar(&f.force, "force", false, "remove without asking for confirmation")
}

// check runs AclCommand's checks of the command line and returns the
// action and the resource pattern type.
func (f *aclFlags) check(fs *flag.FlagSet, acts actions) (string, kmsg.ACLResourcePatternType, error) {
	f.given = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	action, err := acts.chosen(fs)
	if err != nil {
		return "", 0, badUsage(fs, "Command must include exactly one action: --list, --add, --remove.")
	}
	if err := f.checkExclusive(fs, "list", "producer", "consumer", "allow-host", "allow-principal", "deny-host", "deny-principal"); err != nil {
		return "", 0, err
	}
	for _, role := range []string{"producer", "consumer"} {
		if err := f.checkExclusive(fs, role, "operation", "deny-principal", "deny-host"); err != nil {
			return "", 0, err
		}
	}
	switch {
	case f.given["principal"] && action != "list":
		return "", 0, badUsage(fs, "The --principal option is only available if --list is set")
	case f.producer && len(f.topics) == 0:
		return "", 0, badUsage(fs, "With --producer you must specify a --topic")
	case f.idempotent && !f.producer:
		return "", 0, badUsage(fs, "The --idempotent option is only available if --producer is set")
	case f.consumer && (len(f.topics) == 0 || len(f.groups) == 0 || !f.producer && (f.cluster || len(f.transactionalIDs) > 0)):
		return "", 0, badUsage(fs, "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.")
	}
	pattern, err := kmsg.ParseACLResourcePatternType(f.patternType)
	if err != nil {
		return "", 0, badUsage(fs, "Unknown resource-pattern-type: %s", f.patternType)
	}
	if action == "add" && pattern != kmsg.ACLResourcePatternTypeLiteral && pattern != kmsg.ACLResourcePatternTypePrefixed {
		return "", 0, badUsage(fs, "A '--resource-pattern-type' value of '%s' is not valid when adding acls.", pattern)
	}
	return action, pattern, nil
}

// checkExclusive refuses any of others given with opt.
func (f *aclFlags) checkExclusive(fs *flag.FlagSet, opt string, others ...string) error {
	if !f.given[opt] {
		return nil
	}
	for _, o := range others {
		if f.given[o] {
			return badUsage(fs, "Option \"--%s\" can't be used with option \"--%s\"", opt, o)
		}
	}
	return nil
}

// aclResource is Kafka's ResourcePattern, or for --list and --remove its
// ResourcePatternFilter.
type aclResource struct {
	typ     kmsg.ACLResourceType
	name    string
	pattern kmsg.ACLResourcePatternType
}

func (r aclResource) String() string {
	return fmt.Sprintf("ResourcePattern(resourceType=%s, name=%s, patternType=%s)", r.typ, r.name, r.pattern)
}

// aclEntry is Kafka's AccessControlEntry.
type aclEntry struct {
	principal, host string
	op              kmsg.ACLOperation
	perm            kmsg.ACLPermissionType
}

func (e aclEntry) String() string {
	return fmt.Sprintf("(principal=%s, host=%s, operation=%s, permissionType=%s)", e.principal, e.host, e.op, e.perm)
}

// resourceACLs are the entries a command adds to, or removes from, one
// resource (filter). No entries to remove means all of them.
type resourceACLs struct {
	resource aclResource
	entries  []aclEntry
}

// clusterResource is the one cluster resource.
var clusterResource = aclResource{typ: kmsg.ACLResourceTypeCluster, name: acl.ClusterName, pattern: kmsg.ACLResourcePatternTypeLiteral}

// resources are the resources the flags name, in Kafka's order.
func (f *aclFlags) resources(pattern kmsg.ACLResourcePatternType) []aclResource {
	var out []aclResource
	named := func(typ kmsg.ACLResourceType, names []string) {
		for _, n := range names {
			out = append(out, aclResource{typ: typ, name: strings.TrimSpace(n), pattern: pattern})
		}
	}
	named(kmsg.ACLResourceTypeTopic, f.topics)
	if f.cluster || f.idempotent {
		out = append(out, clusterResource)
	}
	named(kmsg.ACLResourceTypeGroup, f.groups)
	named(kmsg.ACLResourceTypeTransactionalId, f.transactionalIDs)
	return out
}

// plan expands the flags into the entries of each resource, as Kafka's
// getResourceFilterToAcls does, and checks them.
func (f *aclFlags) plan(fs *flag.FlagSet, action string, pattern kmsg.ACLResourcePatternType) ([]resourceACLs, error) {
	resources := f.resources(pattern)
	if len(resources) == 0 {
		return nil, badUsage(fs, "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --transactional-id <transactional-id>")
	}
	plan, err := f.expand(resources)
	if err != nil {
		return nil, badUsage(fs, "%v", err)
	}
	for _, ra := range plan {
		if err := checkOperations(ra); err != nil {
			return nil, badUsage(fs, "%v", err)
		}
		if action == "add" && len(ra.entries) == 0 {
			return nil, badUsage(fs, "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.")
		}
	}
	return plan, nil
}

// expand gives each resource its entries: --operation's on every resource,
// or the --producer and --consumer roles' on the resources they concern.
func (f *aclFlags) expand(resources []aclResource) ([]resourceACLs, error) {
	roles := f.producer || f.consumer
	var ops []kmsg.ACLOperation
	if !roles {
		// Before the principals, as Kafka reads them.
		var err error
		if ops, err = f.parsedOperations(); err != nil {
			return nil, err
		}
	}
	// Once here, so a bad principal is one error however many
	// operations it would be given.
	allow, err := parsePrincipals(f.allowPrincipals)
	if err != nil {
		return nil, err
	}
	deny, err := parsePrincipals(f.denyPrincipals)
	if err != nil {
		return nil, err
	}
	var plan []resourceACLs
	add := func(typ kmsg.ACLResourceType, ops ...kmsg.ACLOperation) {
		entries := f.entries(allow, deny, ops)
		for _, r := range resources {
			if typ == kmsg.ACLResourceTypeAny || r.typ == typ {
				plan = mergeEntries(plan, r, entries)
			}
		}
	}
	if !roles {
		add(kmsg.ACLResourceTypeAny, ops...)
		return plan, nil
	}
	if f.producer {
		add(kmsg.ACLResourceTypeTopic, kmsg.ACLOperationWrite, kmsg.ACLOperationDescribe, kmsg.ACLOperationCreate)
		add(kmsg.ACLResourceTypeTransactionalId, kmsg.ACLOperationWrite, kmsg.ACLOperationDescribe)
		if f.idempotent {
			add(kmsg.ACLResourceTypeCluster, kmsg.ACLOperationIdempotentWrite)
		}
	}
	if f.consumer {
		add(kmsg.ACLResourceTypeTopic, kmsg.ACLOperationRead, kmsg.ACLOperationDescribe)
		add(kmsg.ACLResourceTypeGroup, kmsg.ACLOperationRead)
	}
	return plan, nil
}

// mergeEntries adds entries to r's in plan, once each.
func mergeEntries(plan []resourceACLs, r aclResource, entries []aclEntry) []resourceACLs {
	i := slices.IndexFunc(plan, func(ra resourceACLs) bool { return ra.resource == r })
	if i < 0 {
		plan, i = append(plan, resourceACLs{resource: r}), len(plan)
	}
	for _, e := range entries {
		if !slices.Contains(plan[i].entries, e) {
			plan[i].entries = append(plan[i].entries, e)
		}
	}
	return plan
}

// entries are the ALLOW entries of every allowed principal (parsed),
// operation and allowed host, then the DENY ones likewise; mergeEntries
// drops repeats. A host list defaults to * when there are principals.
func (f *aclFlags) entries(allow, deny []string, ops []kmsg.ACLOperation) []aclEntry {
	var out []aclEntry
	for _, side := range []struct {
		principals, hosts []string
		perm              kmsg.ACLPermissionType
	}{
		{allow, f.allowHosts, kmsg.ACLPermissionTypeAllow},
		{deny, f.denyHosts, kmsg.ACLPermissionTypeDeny},
	} {
		hosts := side.hosts
		if len(hosts) == 0 {
			hosts = []string{"*"}
		}
		for _, principal := range side.principals {
			for _, op := range ops {
				for _, h := range hosts {
					out = append(out, aclEntry{principal: principal, host: strings.TrimSpace(h), op: op, perm: side.perm})
				}
			}
		}
	}
	return out
}

// parsePrincipals is parsePrincipal of each.
func parsePrincipals(ps []string) ([]string, error) {
	out := make([]string, len(ps))
	for i, p := range ps {
		var err error
		if out[i], err = parsePrincipal(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parsePrincipal checks Kafka's Type:name form.
func parsePrincipal(s string) (string, error) {
	s = strings.TrimSpace(s)
	typ, name, ok := strings.Cut(s, ":")
	if !ok || typ == "" || name == "" {
		return "", fmt.Errorf("expected a string in format principalType:principalName but got %s", s)
	}
	return s, nil
}

// aclOperations are the operations --operation takes, in Kafka's order.
var aclOperations = []kmsg.ACLOperation{
	kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate, kmsg.ACLOperationDelete,
	kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe, kmsg.ACLOperationClusterAction,
	kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite,
	kmsg.ACLOperationAll,
}

// parsedOperations are --operation's, All when none is given.
func (f *aclFlags) parsedOperations() ([]kmsg.ACLOperation, error) {
	if len(f.operations) == 0 {
		return []kmsg.ACLOperation{kmsg.ACLOperationAll}, nil
	}
	var ops []kmsg.ACLOperation
	for _, s := range f.operations {
		op, err := kmsg.ParseACLOperation(s)
		if err != nil || !slices.Contains(aclOperations, op) {
			return nil, fmt.Errorf("unknown --operation %q: valid operations are %s", s, strings.Join(operationNames(aclOperations), ", "))
		}
		if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	return ops, nil
}

// operationNames are Kafka's names for the operations: IDEMPOTENT_WRITE
// is IdempotentWrite.
func operationNames(ops []kmsg.ACLOperation) []string {
	names := make([]string, len(ops))
	for i, op := range ops {
		words := strings.Split(strings.ToLower(op.String()), "_")
		for j, w := range words {
			words[j] = strings.ToUpper(w[:1]) + w[1:]
		}
		names[i] = strings.Join(words, "")
	}
	return names
}

// checkOperations refuses an operation the resource type does not have,
// e.g. WRITE on a group, as Kafka's validateOperation does.
func checkOperations(ra resourceACLs) error {
	valid := append(acl.Operations(ra.resource.typ), kmsg.ACLOperationAll)
	for _, e := range ra.entries {
		if !slices.Contains(valid, e.op) {
			names := make([]string, len(valid))
			for i, op := range valid {
				names[i] = op.String()
			}
			return fmt.Errorf("ResourceType %s only supports operations %s", ra.resource.typ, strings.Join(names, ", "))
		}
	}
	return nil
}

// aclsCmd runs an action against the cluster.
type aclsCmd struct {
	cl    *kgo.Client
	force bool
	stdin *bufio.Reader
}

// aclBinding is one ACL: a resource pattern and an entry.
type aclBinding struct {
	resource aclResource
	entry    aclEntry
}

func (b aclBinding) String() string {
	return fmt.Sprintf("(pattern=%s, entry=%s)", b.resource, b.entry)
}

// add creates each resource's entries that do not exist yet.
func (c *aclsCmd) add(plan []resourceACLs) error {
	for _, ra := range plan {
		existing, err := c.describe(&ra.resource)
		if err != nil {
			return err
		}
		var fresh []aclEntry
		for _, e := range ra.entries {
			b := aclBinding{resource: ra.resource, entry: e}
			if slices.Contains(existing, b) {
				fmt.Printf("Acl %s already exists.\n", b)
			} else {
				fresh = append(fresh, e)
			}
		}
		if len(fresh) == 0 {
			continue
		}
		fmt.Printf("Adding ACLs for resource `%s`: \n %s\n\n", ra.resource, tabbed(fresh))
		if err := c.create(ra.resource, fresh); err != nil {
			return err
		}
	}
	return nil
}

// tabbed lists entries one a line, each after a tab, as Kafka prints them.
func tabbed(entries []aclEntry) string {
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = "\t" + e.String()
	}
	return strings.Join(lines, "\n")
}

// remove deletes each resource filter's entries, or all of its ACLs when
// it has no entries, once confirmed.
func (c *aclsCmd) remove(plan []resourceACLs) error {
	for _, ra := range plan {
		prompt := fmt.Sprintf("Are you sure you want to delete all ACLs for resource filter `%s`? (y/n)", ra.resource)
		if len(ra.entries) > 0 {
			prompt = fmt.Sprintf("Are you sure you want to remove ACLs: \n %s\n from resource filter `%s`? (y/n)", tabbed(ra.entries), ra.resource)
		}
		ok, err := c.confirm(prompt)
		if err != nil {
			return err
		}
		if ok {
			if err := c.delete(ra); err != nil {
				return err
			}
		}
	}
	return nil
}

// confirm asks on stdout and reads the answer from stdin, unless --force.
func (c *aclsCmd) confirm(prompt string) (bool, error) {
	if c.force {
		return true, nil
	}
	fmt.Println(prompt)
	line, err := c.stdin.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return false, errors.New("no answer on stdin: give --force to remove without asking")
	}
	return strings.EqualFold(strings.TrimSpace(line), "y"), nil
}

// list prints the ACLs of the resources (of all resources when there are
// none), grouped by resource; with principals, only theirs, principal by
// principal.
func (c *aclsCmd) list(resources []aclResource, principals []string) error {
	var bindings []aclBinding
	if len(resources) == 0 {
		all, err := c.describe(nil)
		if err != nil {
			return err
		}
		bindings = all
	}
	for _, r := range resources {
		found, err := c.describe(&r)
		if err != nil {
			return err
		}
		bindings = append(bindings, found...)
	}
	if len(principals) == 0 {
		printACLs(bindings)
		return nil
	}
	for _, p := range principals {
		principal, err := parsePrincipal(p)
		if err != nil {
			return err
		}
		fmt.Printf("ACLs for principal `%s`\n", principal)
		printACLs(slices.DeleteFunc(slices.Clone(bindings), func(b aclBinding) bool { return b.entry.principal != principal }))
	}
	return nil
}

// printACLs prints bindings grouped by resource, in a stable order.
func printACLs(bindings []aclBinding) {
	slices.SortFunc(bindings, compareBindings)
	bindings = slices.Compact(bindings)
	for i := 0; i < len(bindings); {
		r := bindings[i].resource
		var entries []aclEntry
		for ; i < len(bindings) && bindings[i].resource == r; i++ {
			entries = append(entries, bindings[i].entry)
		}
		fmt.Printf("Current ACLs for resource `%s`:\n%s\n\n", r, tabbed(entries))
	}
}

func compareBindings(a, b aclBinding) int {
	return cmp.Or(cmp.Compare(a.resource.typ, b.resource.typ), strings.Compare(a.resource.name, b.resource.name),
		cmp.Compare(a.resource.pattern, b.resource.pattern), strings.Compare(a.entry.principal, b.entry.principal),
		strings.Compare(a.entry.host, b.entry.host), cmp.Compare(a.entry.op, b.entry.op), cmp.Compare(a.entry.perm, b.entry.perm))
}

// describe returns the ACLs r (a filter) selects, or all ACLs for nil.
func (c *aclsCmd) describe(r *aclResource) ([]aclBinding, error) {
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	if r != nil {
		req.ResourceType, req.ResourceName, req.ResourcePatternType = r.typ, kmsg.StringPtr(r.name), r.pattern
	}
	ctx, cancel := opContext()
	defer cancel()
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return nil, err
	}
	if err := aclError(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, err
	}
	var out []aclBinding
	for _, res := range resp.Resources {
		r := aclResource{typ: res.ResourceType, name: res.ResourceName, pattern: res.ResourcePatternType}
		for _, a := range res.ACLs {
			out = append(out, aclBinding{resource: r, entry: aclEntry{principal: a.Principal, host: a.Host, op: a.Operation, perm: a.PermissionType}})
		}
	}
	return out, nil
}

func (c *aclsCmd) create(r aclResource, entries []aclEntry) error {
	req := kmsg.NewPtrCreateACLsRequest()
	for _, e := range entries {
		cr := kmsg.NewCreateACLsRequestCreation()
		cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = r.typ, r.name, r.pattern
		cr.Principal, cr.Host, cr.Operation, cr.PermissionType = e.principal, e.host, e.op, e.perm
		req.Creations = append(req.Creations, cr)
	}
	ctx, cancel := opContext()
	defer cancel()
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return err
	}
	for _, res := range resp.Results {
		if err := aclError(res.ErrorCode, res.ErrorMessage); err != nil {
			return err
		}
	}
	return nil
}

// delete removes ra's entries from the ACLs its resource filter selects,
// or all of those ACLs when it has no entries.
func (c *aclsCmd) delete(ra resourceACLs) error {
	req := kmsg.NewPtrDeleteACLsRequest()
	filter := func() kmsg.DeleteACLsRequestFilter {
		f := kmsg.NewDeleteACLsRequestFilter()
		f.ResourceType, f.ResourceName, f.ResourcePatternType = ra.resource.typ, kmsg.StringPtr(ra.resource.name), ra.resource.pattern
		f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		return f
	}
	if len(ra.entries) == 0 {
		req.Filters = append(req.Filters, filter())
	}
	for _, e := range ra.entries {
		f := filter()
		f.Principal, f.Host, f.Operation, f.PermissionType = kmsg.StringPtr(e.principal), kmsg.StringPtr(e.host), e.op, e.perm
		req.Filters = append(req.Filters, f)
	}
	ctx, cancel := opContext()
	defer cancel()
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return err
	}
	for _, res := range resp.Results {
		if err := aclError(res.ErrorCode, res.ErrorMessage); err != nil {
			return err
		}
	}
	return nil
}

// aclError is a response's error code as Kafka's tool reports it, with a
// hint for the gateway that runs without an authorizer.
func aclError(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.SecurityDisabled):
		return fmt.Errorf("%w (start the gateway with --authorizer acl to manage ACLs)", err)
	case msg != nil && *msg != "":
		return fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}
