package quota

import (
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/caudal/caudal/metadata"
)

// MaxChanges is how many values one AlterClientQuotas may change, Kafka's
// controller's MAX_RECORDS_PER_USER_OP; past it the whole request fails.
const MaxChanges = 10000

// Alteration is one entry of AlterClientQuotas: an entity and the values
// to set or remove (Remove, or Value ignored).
type Alteration struct {
	Entity []Part
	Ops    []Op
}

// Op sets Key to Value, or removes it.
type Op struct {
	Key    string
	Value  float64
	Remove bool
}

// Result is the answer for one distinct entity of a request, in the
// order the entities first came.
type Result struct {
	Entity []Part
	Err    error
}

// keyType is how Kafka's config definition types a key: integral keys
// refuse fractions and values past their Java type.
type keyType struct {
	integral bool
	max      float64
}

var (
	userClientKeys = map[string]keyType{
		ProducerByteRate:       {integral: true, max: math.MaxInt64},
		ConsumerByteRate:       {integral: true, max: math.MaxInt64},
		RequestPercentage:      {},
		ControllerMutationRate: {},
	}
	ipKeys = map[string]keyType{
		ConnectionCreationRate: {integral: true, max: math.MaxInt32},
	}
)

// plan checks a request's alterations as Kafka's controller does and
// returns one result per distinct entity and the changes of the valid
// ones; an entity named twice is refused the second time. As in Kafka, a
// part named twice in one entity counts once, with its last name.
func plan(alts []Alteration) ([]Result, []metadata.QuotaChange, error) {
	ops := 0
	for _, a := range alts {
		ops += len(a.Ops)
	}
	if ops > MaxChanges {
		return nil, nil, &ruleError{ErrTooManyChanges, "Unable to perform excessively large batch operation."}
	}
	var results []Result
	var changes []metadata.QuotaChange
	seen := map[string]int{}
	for _, a := range alts {
		entity := collapse(a.Entity)
		id := entityID(entity)
		if i, ok := seen[id]; ok {
			results[i].Err = invalid("Ignoring duplicate entity %s", describeParts(entity))
			continue
		}
		seen[id] = len(results)
		ch, err := check(entity, a.Ops)
		results = append(results, Result{Entity: entity, Err: err})
		if err == nil {
			changes = append(changes, ch...)
		}
	}
	// A duplicate refuses its entity's earlier changes too.
	changes = slices.DeleteFunc(changes, func(c metadata.QuotaChange) bool {
		return results[seen[entityID(parts(c.Entity))]].Err != nil
	})
	return results, changes, nil
}

// check validates one entity's alteration and returns its changes.
func check(entity []Part, ops []Op) ([]metadata.QuotaChange, error) {
	e, err := toEntity(entity)
	if err != nil {
		return nil, err
	}
	keys := userClientKeys
	if e.IP.Kind != metadata.QuotaAbsent {
		keys = ipKeys
	}
	byKey := map[string]bool{}
	var out []metadata.QuotaChange
	for _, op := range ops {
		if byKey[op.Key] {
			return nil, invalid("Duplicate quota key %s not updating quota for this entity %s", op.Key, describeParts(entity))
		}
		byKey[op.Key] = true
		if !op.Remove {
			if err := checkValue(keys, op.Key, op.Value); err != nil {
				return nil, err
			}
		}
		out = append(out, metadata.QuotaChange{Entity: e, Key: op.Key, Value: op.Value, Remove: op.Remove})
	}
	return out, nil
}

// toEntity checks the entity's types and their combination.
func toEntity(entity []Part) (metadata.QuotaEntity, error) {
	var e metadata.QuotaEntity
	if len(entity) == 0 {
		return e, invalid("Invalid empty client quota entity")
	}
	for _, p := range entity {
		dst := part(&e, p.Type)
		if dst == nil {
			return e, invalid("Unhandled client quota entity type: %s", p.Type)
		}
		if p.Name != nil && *p.Name == "" {
			return e, invalid("Empty %s not supported", p.Type)
		}
		*dst = quotaName(p.Name)
	}
	if e.IP.Kind != metadata.QuotaAbsent {
		if e.User.Kind != metadata.QuotaAbsent || e.ClientID.Kind != metadata.QuotaAbsent {
			return e, invalid("Invalid quota entity combination, IP entity should not be combined with User or ClientId")
		}
		// Kafka also resolves host names here; a gateway does no DNS
		// lookups on a client's word, so only addresses are taken.
		if _, err := netip.ParseAddr(e.IP.Name); e.IP.Kind == metadata.QuotaNamed && err != nil {
			return e, invalid("%s is not a valid IP or resolvable host.", e.IP.Name)
		}
	}
	return e, nil
}

func checkValue(keys map[string]keyType, key string, v float64) error {
	kt, ok := keys[key]
	switch {
	case !ok:
		return invalid("Invalid configuration key %s", key)
	case !(v > 0): // also NaN
		return invalid("Quota %s must be greater than 0", key)
	case kt.integral && v > kt.max:
		return invalid("Proposed value for %s is too large for its type.", key)
	case kt.integral && math.Abs(math.Mod(v, 1)) > 1e-6:
		return invalid("%s cannot be a fractional value.", key)
	}
	return nil
}

// collapse keeps one part per type, the last name given, where the type
// first came: Kafka reads an entity into a map.
func collapse(entity []Part) []Part {
	var out []Part
	at := map[string]int{}
	for _, p := range entity {
		if i, ok := at[p.Type]; ok {
			out[i] = p
			continue
		}
		at[p.Type] = len(out)
		out = append(out, p)
	}
	return out
}

// entityID is a key for an entity whatever the order of its parts.
func entityID(entity []Part) string {
	ids := make([]string, len(entity))
	for i, p := range entity {
		ids[i] = p.Type + "\x00"
		if p.Name != nil {
			ids[i] += "=" + *p.Name
		}
	}
	slices.Sort(ids)
	return strings.Join(ids, "\x01")
}

// describeParts writes an entity as Kafka's ClientQuotaEntity.toString.
func describeParts(entity []Part) string {
	s := make([]string, len(entity))
	for i, p := range entity {
		name := "null"
		if p.Name != nil {
			name = *p.Name
		}
		s[i] = p.Type + "=" + name
	}
	return "ClientQuotaEntity(entries={" + strings.Join(s, ", ") + "})"
}
