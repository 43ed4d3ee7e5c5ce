package quota

import "github.com/caudal/caudal/metadata"

// Limits is every stored quota value by entity and key.
type Limits map[metadata.QuotaEntity]map[string]float64

// Tags is whose bytes one rate counts, as Kafka's quota metric tags: the
// user, the client-id, or both, that the quota found was set for (a
// default entity's quota counts each user or client-id apart).
type Tags struct{ User, ClientID string }

// Resolve finds the quota key applies to for a connection of user
// (the principal's name, "ANONYMOUS" unauthenticated) and clientID, in
// Kafka's order of precedence:
//
//  1. user and client-id          5. default user, default client-id
//  2. user, default client-id     6. default user
//  3. user                        7. client-id
//  4. default user and client-id  8. default client-id
//
// It returns the limit, whose bytes it counts, and false when no quota
// applies.
func (l Limits) Resolve(key, user, clientID string) (float64, Tags, bool) {
	named := func(n string) metadata.QuotaName { return metadata.QuotaName{Kind: metadata.QuotaNamed, Name: n} }
	def := metadata.QuotaName{Kind: metadata.QuotaDefault}
	both, userOnly, clientOnly := Tags{user, clientID}, Tags{User: user}, Tags{ClientID: clientID}
	for _, c := range []struct {
		e    metadata.QuotaEntity
		tags Tags
	}{
		{metadata.QuotaEntity{User: named(user), ClientID: named(clientID)}, both},
		{metadata.QuotaEntity{User: named(user), ClientID: def}, both},
		{metadata.QuotaEntity{User: named(user)}, userOnly},
		{metadata.QuotaEntity{User: def, ClientID: named(clientID)}, both},
		{metadata.QuotaEntity{User: def, ClientID: def}, both},
		{metadata.QuotaEntity{User: def}, userOnly},
		{metadata.QuotaEntity{ClientID: named(clientID)}, clientOnly},
		{metadata.QuotaEntity{ClientID: def}, clientOnly},
	} {
		if v, ok := l[c.e][key]; ok {
			return v, c.tags, true
		}
	}
	return 0, Tags{}, false
}
