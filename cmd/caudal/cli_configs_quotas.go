package main

// kafka-configs --entity-type users|clients|ips: client quotas, through
// DescribeClientQuotas and AlterClientQuotas (KIP-546), with Kafka's
// ConfigCommand's checks, messages and output. Users also carry SCRAM
// credentials (cli_configs_users.go); one command alters one or the other.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// quotaEntityTypes maps the tool's entity types to the protocol's.
var quotaEntityTypes = map[string]string{"users": "user", "clients": "client-id", "ips": "ip"}

// Kafka's quota keys: of users and clients, and of ips.
var (
	userClientQuotaKeys = []string{"consumer_byte_rate", "controller_mutation_rate", "producer_byte_rate", "request_percentage"}
	ipQuotaKeys         = []string{"connection_creation_rate"}
)

// alterClientEntity alters a user's, client's or ip's quotas, or a
// user's SCRAM credentials.
func (c *configsCmd) alterClientEntity(ctx context.Context) error {
	adds := splitConfigList(c.add)
	names := make([]string, 0, len(adds))
	for _, pair := range adds {
		k, _, _ := strings.Cut(pair, "=")
		names = append(names, strings.TrimSpace(k))
	}
	dels := splitList(c.remove, ",")
	quota, scram, err := c.classifyConfigs(names, dels)
	if err != nil {
		return err
	}
	if scram {
		if c.entityDefault {
			return fmt.Errorf("Error: The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.")
		}
		if quota {
			return fmt.Errorf("Error: Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server.")
		}
		return c.alterUser(ctx)
	}
	if err := c.alterQuotas(ctx, adds, dels); err != nil {
		return err
	}
	if c.entityDefault {
		fmt.Printf("Completed updating default config for %s in the cluster.\n", c.entityType)
	} else {
		fmt.Printf("Completed updating config for %s %s.\n", strings.TrimSuffix(c.entityType, "s"), c.name)
	}
	return nil
}

// classifyConfigs checks the names to add and delete against what the
// entity type takes, as Kafka's ConfigCommand, and says whether they
// hold quota keys and SCRAM mechanisms.
func (c *configsCmd) classifyConfigs(adds, dels []string) (quota, scram bool, err error) {
	keys := userClientQuotaKeys
	if c.entityType == "ips" {
		keys = ipQuotaKeys
	}
	for _, what := range []struct {
		verb  string
		names []string
	}{{"added", adds}, {"deleted", dels}} {
		var unexpected []string
		for _, n := range what.names {
			_, isScram := scramMechanisms[strings.ToUpper(n)]
			switch {
			case slices.Contains(keys, n):
				quota = true
			case isScram && c.entityType == "users":
				scram = true
			default:
				unexpected = append(unexpected, n)
			}
		}
		if len(unexpected) > 0 {
			return false, false, fmt.Errorf("Error: Only %s can be %s for '%s' using --bootstrap-server. Unexpected config names: %s",
				allowedConfigs(c.entityType), what.verb, c.entityType, strings.Join(unexpected, ","))
		}
	}
	return quota, scram, nil
}

func allowedConfigs(entityType string) string {
	switch entityType {
	case "users":
		return "quota and SCRAM credential configs"
	case "ips":
		return "connection quota configs"
	}
	return "quota configs"
}

// alterQuotas sends one AlterClientQuotas for the entity. As Kafka's tool
// does, it refuses to delete a key the entity does not have.
func (c *configsCmd) alterQuotas(ctx context.Context, adds, dels []string) error {
	entry := kadm.AlterClientQuotaEntry{Entity: kadm.ClientQuotaEntity{c.quotaComponent()}}
	for _, pair := range adds {
		k, v, _ := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(v), "["), "]")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("Error: Cannot parse quota configuration value for %s: %s", k, v)
		}
		entry.Ops = append(entry.Ops, kadm.AlterClientQuotaOp{Key: k, Value: f})
	}
	if len(dels) > 0 {
		current, err := c.describeQuotaEntities(ctx)
		if err != nil {
			return err
		}
		var missing []string
		for _, k := range dels {
			if !slices.ContainsFunc(current, func(q kadm.DescribedClientQuota) bool {
				return slices.ContainsFunc(q.Values, func(v kadm.ClientQuotaValue) bool { return v.Key == k })
			}) {
				missing = append(missing, k)
			}
			entry.Ops = append(entry.Ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
		}
		if len(missing) > 0 {
			return fmt.Errorf("Error: Invalid config(s): %s", strings.Join(missing, ","))
		}
	}
	altered, err := c.adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{entry})
	if err != nil {
		return fmt.Errorf("Error: %w", err)
	}
	for _, a := range altered {
		if a.Err != nil {
			return fmt.Errorf("Error: %s", serverError(a.Err, a.ErrMessage))
		}
	}
	return nil
}

// quotaComponent is the entity the flags name: --entity-name's, or the
// type's default with --entity-default.
func (c *configsCmd) quotaComponent() kadm.ClientQuotaEntityComponent {
	comp := kadm.ClientQuotaEntityComponent{Type: quotaEntityTypes[c.entityType]}
	if !c.entityDefault {
		name := c.name
		comp.Name = &name
	}
	return comp
}

// describeQuotaEntities lists, strictly, the entities of the type: the
// one named, the default, or all of them.
func (c *configsCmd) describeQuotaEntities(ctx context.Context) (kadm.DescribedClientQuotas, error) {
	comp := kadm.DescribeClientQuotaComponent{Type: quotaEntityTypes[c.entityType], MatchType: kadm.QuotasMatchType(2)}
	switch {
	case c.entityDefault:
		comp.MatchType = 1
	case c.name != "":
		name := c.name
		comp.MatchName, comp.MatchType = &name, 0
	}
	qs, err := c.adm.DescribeClientQuotas(ctx, true, []kadm.DescribeClientQuotaComponent{comp})
	if err != nil {
		return nil, fmt.Errorf("Error: %w", err)
	}
	return qs, nil
}

// describeClientEntity prints the quotas of the entity or entities, in
// Kafka's words, and then users' SCRAM credentials unless the default
// user was asked for, as Kafka does.
func (c *configsCmd) describeClientEntity(ctx context.Context) error {
	qs, err := c.describeQuotaEntities(ctx)
	if err != nil {
		return err
	}
	for _, q := range qs {
		fmt.Println(quotaLine(q))
	}
	if c.entityType == "users" && !c.entityDefault {
		return c.describeUsers(ctx)
	}
	return nil
}

// quotaLine is Kafka's "Quota configs for user-principal 'alice' are
// producer_byte_rate=1024.0", values as Java prints doubles.
func quotaLine(q kadm.DescribedClientQuota) string {
	label := map[string]string{"user": "user-principal", "client-id": "client-id", "ip": "ip"}
	var who []string
	for _, typ := range []string{"user", "client-id", "ip"} {
		for _, comp := range q.Entity {
			switch {
			case comp.Type != typ:
			case comp.Name == nil:
				who = append(who, "the default "+label[typ])
			default:
				who = append(who, fmt.Sprintf("%s '%s'", label[typ], *comp.Name))
			}
		}
	}
	values := slices.Clone(q.Values)
	slices.SortFunc(values, func(a, b kadm.ClientQuotaValue) int { return strings.Compare(a.Key, b.Key) })
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = v.Key + "=" + javaDouble(v.Value)
	}
	return fmt.Sprintf("Quota configs for %s are %s", strings.Join(who, ", "), strings.Join(vs, ", "))
}

// javaDouble formats v as Java's Double.toString: plain decimals with at
// least one fraction digit from 10^-3 to 10^7, otherwise 1.0E7's form.
func javaDouble(v float64) string {
	if a := math.Abs(v); a == 0 || (a >= 1e-3 && a < 1e7) {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'E', -1, 64), "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
