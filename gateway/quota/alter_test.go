package quota

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func named(typ, name string) Part { return Part{Type: typ, Name: &name} }

// TestPlan checks Kafka's rules for AlterClientQuotas, entry by entry.
func TestPlan(t *testing.T) {
	set := func(k string, v float64) Op { return Op{Key: k, Value: v} }
	for _, tc := range []struct {
		name    string
		entity  []Part
		ops     []Op
		wantErr string // "" when valid
	}{
		{"user byte rates", []Part{named(EntityUser, "alice")}, []Op{set(ProducerByteRate, 1024), set(ConsumerByteRate, 2048)}, ""},
		{"default user and client", []Part{{Type: EntityUser}, {Type: EntityClientID}}, []Op{set(RequestPercentage, 12.5)}, ""},
		{"ip connection rate", []Part{named(EntityIP, "10.0.0.1")}, []Op{set(ConnectionCreationRate, 5)}, ""},
		{"default ip", []Part{{Type: EntityIP}}, []Op{set(ConnectionCreationRate, 5)}, ""},
		{"remove needs no valid value", []Part{named(EntityClientID, "app")}, []Op{{Key: ProducerByteRate, Value: -1, Remove: true}}, ""},
		{"unknown key", []Part{named(EntityUser, "alice")}, []Op{set("bogus_rate", 1)}, "Invalid configuration key bogus_rate"},
		{"negative rate", []Part{named(EntityUser, "alice")}, []Op{set(ProducerByteRate, -5)}, "Quota producer_byte_rate must be greater than 0"},
		{"zero rate", []Part{named(EntityUser, "alice")}, []Op{set(ConsumerByteRate, 0)}, "must be greater than 0"},
		{"NaN", []Part{named(EntityUser, "alice")}, []Op{set(ConsumerByteRate, math.NaN())}, "must be greater than 0"},
		{"fraction of an integral key", []Part{named(EntityUser, "alice")}, []Op{set(ProducerByteRate, 1.5)}, "cannot be a fractional value"},
		{"int key too large", []Part{named(EntityIP, "::1")}, []Op{set(ConnectionCreationRate, 1e12)}, "too large"},
		{"ip key on a user", []Part{named(EntityUser, "alice")}, []Op{set(ConnectionCreationRate, 1)}, "Invalid configuration key connection_creation_rate"},
		{"user key on an ip", []Part{named(EntityIP, "10.0.0.1")}, []Op{set(ProducerByteRate, 1)}, "Invalid configuration key producer_byte_rate"},
		{"ip with user", []Part{named(EntityIP, "10.0.0.1"), named(EntityUser, "alice")}, []Op{set(ConnectionCreationRate, 1)}, "IP entity should not be combined"},
		{"not an ip", []Part{named(EntityIP, "example.invalid")}, []Op{set(ConnectionCreationRate, 1)}, "is not a valid IP"},
		{"empty entity", nil, []Op{set(ProducerByteRate, 1)}, "Invalid empty client quota entity"},
		{"unknown type", []Part{named("group", "g")}, []Op{set(ProducerByteRate, 1)}, "Unhandled client quota entity type: group"},
		{"empty name", []Part{named(EntityUser, "")}, []Op{set(ProducerByteRate, 1)}, "Empty user not supported"},
		{"duplicate key", []Part{named(EntityUser, "alice")}, []Op{set(ProducerByteRate, 1), set(ProducerByteRate, 2)}, "Duplicate quota key producer_byte_rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results, changes, err := plan([]Alteration{{Entity: tc.entity, Ops: tc.ops}})
			if err != nil || len(results) != 1 {
				t.Fatalf("plan = %v, %v", results, err)
			}
			got := results[0].Err
			if tc.wantErr == "" {
				if got != nil || len(changes) != len(tc.ops) {
					t.Fatalf("refused: %v (%d changes)", got, len(changes))
				}
				return
			}
			if !errors.Is(got, ErrInvalid) || !strings.Contains(got.Error(), tc.wantErr) || len(changes) != 0 {
				t.Fatalf("error %v with %d changes, want INVALID_REQUEST %q and none", got, len(changes), tc.wantErr)
			}
		})
	}
}

// TestPlanEntities: a part named twice counts once with its last name, an
// entity named twice is refused with its changes, and more than
// MaxChanges values refuse the request.
func TestPlanEntities(t *testing.T) {
	op := []Op{{Key: ProducerByteRate, Value: 10}}
	results, changes, err := plan([]Alteration{
		{Entity: []Part{named(EntityUser, "a"), named(EntityUser, "b")}, Ops: op},
		{Entity: []Part{named(EntityClientID, "c")}, Ops: op},
		{Entity: []Part{named(EntityClientID, "c")}, Ops: op},
	})
	if err != nil || len(results) != 2 {
		t.Fatalf("plan = %+v, %v", results, err)
	}
	if e := results[0].Entity; len(e) != 1 || *e[0].Name != "b" || results[0].Err != nil {
		t.Errorf("collapsed entity %+v, %v", e, results[0].Err)
	}
	if !errors.Is(results[1].Err, ErrInvalid) || !strings.Contains(results[1].Err.Error(), "duplicate entity") {
		t.Errorf("duplicate entity: %v", results[1].Err)
	}
	if len(changes) != 1 || changes[0].Entity.User.Name != "b" {
		t.Errorf("changes %+v", changes)
	}
	many := make([]Op, MaxChanges+1)
	if _, _, err := plan([]Alteration{{Entity: []Part{named(EntityUser, "a")}, Ops: many}}); !errors.Is(err, ErrTooManyChanges) {
		t.Errorf("%d changes: %v", len(many), err)
	}
}
