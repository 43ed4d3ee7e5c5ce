package quota

import (
	"errors"
	"strings"
	"testing"

	"github.com/caudal/caudal/metadata"
)

// TestDescribe checks filter matching, strict and not, and the filters
// Kafka refuses.
func TestDescribe(t *testing.T) {
	n := func(s string) metadata.QuotaName { return metadata.QuotaName{Kind: metadata.QuotaNamed, Name: s} }
	def := metadata.QuotaName{Kind: metadata.QuotaDefault}
	l := Limits{}
	for _, e := range []metadata.QuotaEntity{
		{User: n("alice")}, {User: n("alice"), ClientID: n("app")}, {User: def}, {ClientID: n("app")}, {ClientID: def}, {IP: n("10.0.0.1")},
	} {
		l[e] = map[string]float64{ProducerByteRate: 1}
	}
	s := func(v string) *string { return &v }
	exact := func(typ, name string) Component { return Component{Type: typ, MatchType: MatchExact, Match: s(name)} }
	for _, tc := range []struct {
		name       string
		components []Component
		strict     bool
		want       int
		wantErr    error
	}{
		{"everything", nil, false, 6, nil},
		{"strict nothing", nil, true, 0, nil},
		{"user alice", []Component{exact(EntityUser, "alice")}, false, 2, nil},
		{"user alice strict", []Component{exact(EntityUser, "alice")}, true, 1, nil},
		{"default user", []Component{{Type: EntityUser, MatchType: MatchDefault}}, false, 1, nil},
		{"any user strict", []Component{{Type: EntityUser, MatchType: MatchSpecified}}, true, 2, nil},
		{"any client", []Component{{Type: EntityClientID, MatchType: MatchSpecified}}, false, 3, nil},
		{"ip", []Component{{Type: EntityIP, MatchType: MatchSpecified}}, false, 1, nil},
		{"type twice", []Component{exact(EntityUser, "a"), exact(EntityUser, "b")}, false, 0, ErrInvalid},
		{"empty type", []Component{{Type: "", MatchType: MatchSpecified}}, false, 0, ErrInvalid},
		{"unknown type", []Component{{Type: "group", MatchType: MatchSpecified}}, false, 0, ErrUnsupportedEntityType},
		{"exact without name", []Component{{Type: EntityUser, MatchType: MatchExact}}, false, 0, ErrInvalid},
		{"default with name", []Component{{Type: EntityUser, MatchType: MatchDefault, Match: s("x")}}, false, 0, ErrInvalid},
		{"unknown match type", []Component{{Type: EntityUser, MatchType: 7}}, false, 0, ErrInvalid},
		{"ip with user", []Component{{Type: EntityIP, MatchType: MatchSpecified}, exact(EntityUser, "a")}, false, 0, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := newFilter(tc.components, tc.strict)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("filter error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if strings.HasPrefix(err.Error(), "invalid client quota") {
					t.Fatalf("message %q is not Kafka's", err)
				}
				return
			}
			if got := l.describe(f); len(got) != tc.want {
				t.Fatalf("described %d entities, want %d: %+v", len(got), tc.want, got)
			}
		})
	}
}
