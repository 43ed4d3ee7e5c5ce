package main

// kafka-configs --entity-type users: SCRAM credentials (quotas are in
// cli_configs_quotas.go), through
// DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554).
// kadm salts and iterates the password on this side; only the salted
// key is sent, and the password is never printed, not even in an error.

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/caudal/caudal/gateway/auth"
)

// scramCredentialPattern is Kafka's form of a credential to add:
// [iterations=N,]password=P, the password last so that it may hold commas.
var scramCredentialPattern = regexp.MustCompile(`^(?:iterations=(-?[0-9]*),)?password=(.*)$`)

var scramMechanisms = map[string]kadm.ScramMechanism{
	auth.MechanismScramSHA256: kadm.ScramSha256,
	auth.MechanismScramSHA512: kadm.ScramSha512,
}

// scramChange is one credential to set or to delete.
type scramChange struct {
	upsert []kadm.UpsertSCRAM
	delete []kadm.DeleteSCRAM
}

// alterUser applies each change in a request of its own: the gateway, like
// Kafka's KRaft controller, refuses a request that names a user twice
// (DUPLICATE_RESOURCE), so both mechanisms in one --add-config would
// otherwise fail.
func (c *configsCmd) alterUser(ctx context.Context) error {
	changes, err := c.scramChanges()
	if err != nil {
		return err
	}
	for _, ch := range changes {
		altered, err := c.adm.AlterUserSCRAMs(ctx, ch.delete, ch.upsert)
		if err != nil {
			return fmt.Errorf("Error: %w", err)
		}
		if r := altered[c.name]; r.Err != nil {
			return fmt.Errorf("Error: %s", serverError(r.Err, r.ErrMessage))
		}
	}
	fmt.Printf("Completed updating config for user %s.\n", c.name)
	return nil
}

// scramChanges parses --add-config and --delete-config for a user.
func (c *configsCmd) scramChanges() ([]scramChange, error) {
	var changes []scramChange
	var unexpected []string
	for _, pair := range splitConfigList(c.add) {
		name, value, _ := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		mech, ok := scramMechanisms[strings.ToUpper(name)]
		if !ok {
			unexpected = append(unexpected, name)
			continue
		}
		value = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(value), "["), "]")
		iterations, password, err := parseScramCredential(mech, value)
		if err != nil {
			return nil, err
		}
		changes = append(changes, scramChange{upsert: []kadm.UpsertSCRAM{{User: c.name, Mechanism: mech, Iterations: iterations, Password: password}}})
	}
	for _, name := range splitList(c.remove, ",") {
		mech, ok := scramMechanisms[strings.ToUpper(name)]
		if !ok {
			unexpected = append(unexpected, name)
			continue
		}
		changes = append(changes, scramChange{delete: []kadm.DeleteSCRAM{{User: c.name, Mechanism: mech}}})
	}
	if len(unexpected) > 0 {
		return nil, fmt.Errorf("Error: Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: %s", strings.Join(unexpected, ","))
	}
	return changes, nil
}

// parseScramCredential reads [iterations=N,]password=P. Its errors never
// hold the value, which holds the password.
func parseScramCredential(mech kadm.ScramMechanism, value string) (int32, string, error) {
	m := scramCredentialPattern.FindStringSubmatch(value)
	if m == nil || m[2] == "" {
		return 0, "", fmt.Errorf("Error: invalid credential property %s: want %s=[iterations=N,password=P] or %s=[password=P]", mech, mech, mech)
	}
	iterations := int64(auth.DefaultIterations)
	if m[1] != "" && m[1] != "-1" {
		n, err := strconv.ParseInt(m[1], 10, 32)
		if err != nil {
			return 0, "", fmt.Errorf("Error: %s iterations %q is not a number", mech, m[1])
		}
		iterations = n
	}
	switch {
	case iterations < auth.MinIterations:
		return 0, "", fmt.Errorf("Error: Iterations %d is less than the minimum %d required for %s", iterations, auth.MinIterations, mech)
	case iterations > auth.MaxIterations:
		return 0, "", fmt.Errorf("Error: Iterations %d is more than the maximum %d allowed for %s", iterations, auth.MaxIterations, mech)
	}
	return int32(iterations), m[2], nil
}

// describeUsers prints the SCRAM mechanisms and iterations of the user,
// or of every user without --entity-name, as Kafka does; a user without
// credentials gets Kafka's line for the error, and the command succeeds.
func (c *configsCmd) describeUsers(ctx context.Context) error {
	var users []string
	if c.name != "" {
		users = []string{c.name}
	}
	described, err := c.adm.DescribeUserSCRAMs(ctx, users...)
	if err != nil {
		return fmt.Errorf("Error: %w", err)
	}
	for _, d := range described.Sorted() {
		if d.Err != nil {
			fmt.Printf("Error retrieving SCRAM credential configs for user-principal '%s': %v\n", d.User, serverError(d.Err, d.ErrMessage))
			continue
		}
		infos := slices.Clone(d.CredInfos)
		slices.SortFunc(infos, func(a, b kadm.CredInfo) int { return int(a.Mechanism) - int(b.Mechanism) })
		parts := make([]string, len(infos))
		for i, ci := range infos {
			parts[i] = fmt.Sprintf("%s=iterations=%d", ci.Mechanism, ci.Iterations)
		}
		fmt.Printf("SCRAM credential configs for user-principal '%s' are %s\n", d.User, strings.Join(parts, ", "))
	}
	return nil
}
