package quota

import (
	"cmp"
	"slices"

	"github.com/caudal/caudal/metadata"
)

// Kafka's match types of a describe filter component.
const (
	MatchExact     int8 = 0 // the entity of this name
	MatchDefault   int8 = 1 // the type's default entity
	MatchSpecified int8 = 2 // any entity of this type, default or named
)

// Component is one part of a DescribeClientQuotas filter.
type Component struct {
	Type      string
	MatchType int8
	Match     *string
}

// Entry is one described entity and its values.
type Entry struct {
	Entity []Part
	Values map[string]float64
}

// filter is a checked describe filter: exact names (nil for a default)
// and types that must be present.
type filter struct {
	exact  map[string]*string
	typed  map[string]bool
	strict bool
}

// newFilter checks the components as Kafka's ClientQuotasImage.describe.
func newFilter(components []Component, strict bool) (filter, error) {
	f := filter{exact: map[string]*string{}, typed: map[string]bool{}, strict: strict}
	for _, c := range components {
		_, isExact := f.exact[c.Type]
		switch {
		case c.Type == "":
			return f, invalid("Invalid empty entity type.")
		case isExact || f.typed[c.Type]:
			return f, invalid("Entity type %s cannot appear more than once in the filter.", c.Type)
		case c.Type != EntityUser && c.Type != EntityClientID && c.Type != EntityIP:
			return f, &ruleError{ErrUnsupportedEntityType, "Unsupported entity type " + c.Type}
		}
		switch c.MatchType {
		case MatchExact:
			if c.Match == nil {
				return f, invalid("Request specified MATCH_TYPE_EXACT, but set match string to null.")
			}
			f.exact[c.Type] = c.Match
		case MatchDefault:
			if c.Match != nil {
				return f, invalid("Request specified MATCH_TYPE_DEFAULT, but also specified a match string.")
			}
			f.exact[c.Type] = nil
		case MatchSpecified:
			if c.Match != nil {
				return f, invalid("Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.")
			}
			f.typed[c.Type] = true
		default:
			return f, invalid("Unknown match type %d", c.MatchType)
		}
	}
	if f.has(EntityIP) && (f.has(EntityUser) || f.has(EntityClientID)) {
		return f, invalid("Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.")
	}
	return f, nil
}

func (f filter) has(typ string) bool {
	_, ok := f.exact[typ]
	return ok || f.typed[typ]
}

func (f filter) matches(e metadata.QuotaEntity) bool {
	ps := parts(e)
	if f.strict && len(ps) != len(f.exact)+len(f.typed) {
		return false
	}
	for typ, want := range f.exact {
		n := *part(&e, typ)
		switch {
		case n.Kind == metadata.QuotaAbsent,
			want == nil && n.Kind != metadata.QuotaDefault,
			want != nil && (n.Kind != metadata.QuotaNamed || n.Name != *want):
			return false
		}
	}
	for typ := range f.typed {
		if part(&e, typ).Kind == metadata.QuotaAbsent {
			return false
		}
	}
	return true
}

// describe lists the entities of l the filter selects, ordered by
// their parts so that answers are stable.
func (l Limits) describe(f filter) []Entry {
	var out []Entry
	for e, values := range l {
		if f.matches(e) {
			out = append(out, Entry{Entity: parts(e), Values: values})
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Compare(describeParts(a.Entity), describeParts(b.Entity))
	})
	return out
}

// SortedKeys are an entry's keys in order.
func (e Entry) SortedKeys() []string {
	keys := make([]string, 0, len(e.Values))
	for k := range e.Values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
