// Package quota is Kafka's client quotas (KIP-546) for the gateway: the
// entities and keys AlterClientQuotas and DescribeClientQuotas take and
// Kafka's rules for them, the precedence that picks the quota of a
// connection's user and client-id, and the byte rates measured over
// Kafka's window of windows that say how long a client is throttled. A
// Manager keeps all quotas in memory from the metadata store and polls
// its version, so a change on any gateway applies everywhere within a
// second. It does not speak the Kafka protocol: the edge maps results to
// Kafka error codes and sets throttle_time_ms.
package quota

import (
	"errors"
	"fmt"

	"github.com/caudal/caudal/metadata"
)

// Kafka's entity types.
const (
	EntityUser     = "user"
	EntityClientID = "client-id"
	EntityIP       = "ip"
)

// Kafka's quota keys.
const (
	ProducerByteRate       = "producer_byte_rate"
	ConsumerByteRate       = "consumer_byte_rate"
	RequestPercentage      = "request_percentage"
	ControllerMutationRate = "controller_mutation_rate"
	ConnectionCreationRate = "connection_creation_rate"
)

var (
	// ErrInvalid is a request Kafka refuses with INVALID_REQUEST; the
	// error's text says why, in Kafka's words.
	ErrInvalid = errors.New("invalid client quota request")
	// ErrUnsupportedEntityType is a describe filter on an entity type
	// Kafka does not know (UNSUPPORTED_VERSION).
	ErrUnsupportedEntityType = errors.New("unsupported client quota entity type")
	// ErrTooManyChanges is an alteration of more values than Kafka's
	// controller takes in one operation (POLICY_VIOLATION).
	ErrTooManyChanges = errors.New("too many client quota changes")
)

// ruleError is a broken rule of Kafka's, in Kafka's words: its text is
// what the client is told.
type ruleError struct {
	kind error
	msg  string
}

func (e *ruleError) Error() string { return e.msg }
func (e *ruleError) Unwrap() error { return e.kind }

func invalid(format string, args ...any) error {
	return &ruleError{ErrInvalid, fmt.Sprintf(format, args...)}
}

// Part is one component of an entity as the protocol carries it: a type
// and a name, nil for the type's default entity.
type Part struct {
	Type string
	Name *string
}

// parts is the entity as Kafka answers it: user, client-id, ip.
func parts(e metadata.QuotaEntity) []Part {
	var out []Part
	for _, p := range []struct {
		typ  string
		name metadata.QuotaName
	}{{EntityUser, e.User}, {EntityClientID, e.ClientID}, {EntityIP, e.IP}} {
		switch p.name.Kind {
		case metadata.QuotaDefault:
			out = append(out, Part{Type: p.typ})
		case metadata.QuotaNamed:
			name := p.name.Name
			out = append(out, Part{Type: p.typ, Name: &name})
		}
	}
	return out
}

func quotaName(name *string) metadata.QuotaName {
	if name == nil {
		return metadata.QuotaName{Kind: metadata.QuotaDefault}
	}
	return metadata.QuotaName{Kind: metadata.QuotaNamed, Name: *name}
}

// part returns the entity's part of type typ, or nil for another type.
func part(e *metadata.QuotaEntity, typ string) *metadata.QuotaName {
	switch typ {
	case EntityUser:
		return &e.User
	case EntityClientID:
		return &e.ClientID
	case EntityIP:
		return &e.IP
	}
	return nil
}
