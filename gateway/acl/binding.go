package acl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata"
)

// Names with a meaning of their own in Kafka's ACLs.
const (
	// ClusterName is the one name of the CLUSTER resource.
	ClusterName = "kafka-cluster"
	// Wildcard, as a LITERAL resource name or a host, matches every one.
	Wildcard = "*"
	// WildcardPrincipal matches every principal, whatever its type.
	WildcardPrincipal = "User:*"
)

// ErrInvalid is what a binding or filter Kafka would refuse with
// INVALID_REQUEST wraps; the rest of the message says why and is safe to
// send to the client.
var ErrInvalid = errors.New("invalid ACL")

// Binding is one ACL: who (Principal, from Host) may or may not
// (Permission) do what (Operation) to which resources (ResourceType,
// ResourceName understood by PatternType).
type Binding struct {
	ResourceType kmsg.ACLResourceType
	ResourceName string
	PatternType  kmsg.ACLResourcePatternType // LITERAL or PREFIXED
	Principal    string                      // "Type:name", e.g. "User:alice"; "User:*" is anyone
	Host         string                      // an IP address, or "*"
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType // ALLOW or DENY
}

// Filter selects bindings as Kafka's DescribeAcls and DeleteAcls do. ANY
// (and a nil name, principal or host) matches every value. PatternType
// MATCH with a name selects the bindings that apply to that resource: its
// LITERAL ones, the LITERAL "*" and every PREFIXED one the name starts
// with; MATCH without a name matches every pattern type.
type Filter struct {
	ResourceType kmsg.ACLResourceType
	ResourceName *string
	PatternType  kmsg.ACLResourcePatternType
	Principal    *string
	Host         *string
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType
}

// validate applies the checks of Kafka's CreateAcls: concrete enums, a
// resource name, the cluster's one name, and a principal "Type:name".
// Kafka only asks for the colon; an empty type or name can never match
// an authenticated principal, so it is refused as a mistake.
func (b Binding) validate() error {
	switch {
	case !concreteResourceType(b.ResourceType):
		return fmt.Errorf("%w: resource type %v", ErrInvalid, b.ResourceType)
	case b.PatternType != kmsg.ACLResourcePatternTypeLiteral && b.PatternType != kmsg.ACLResourcePatternTypePrefixed:
		return fmt.Errorf("%w: pattern type %v", ErrInvalid, b.PatternType)
	case !concreteOperation(b.Operation):
		return fmt.Errorf("%w: operation %v", ErrInvalid, b.Operation)
	case b.Permission != kmsg.ACLPermissionTypeAllow && b.Permission != kmsg.ACLPermissionTypeDeny:
		return fmt.Errorf("%w: permission type %v", ErrInvalid, b.Permission)
	case b.ResourceName == "":
		return fmt.Errorf("%w: empty resource name", ErrInvalid)
	case b.ResourceType == kmsg.ACLResourceTypeCluster && b.ResourceName != ClusterName:
		return fmt.Errorf("%w: the only valid name for the CLUSTER resource is %s", ErrInvalid, ClusterName)
	}
	typ, name, ok := strings.Cut(b.Principal, ":")
	if !ok || typ == "" || name == "" {
		return fmt.Errorf("%w: principal %q is not of the form Type:name", ErrInvalid, b.Principal)
	}
	return nil
}

// validate refuses what Kafka calls an unknown filter: any enum that is
// UNKNOWN or outside the codes Kafka defines.
func (f Filter) validate() error {
	switch {
	case f.ResourceType != kmsg.ACLResourceTypeAny && !concreteResourceType(f.ResourceType):
		return fmt.Errorf("%w: filter resource type %v", ErrInvalid, f.ResourceType)
	case f.PatternType < kmsg.ACLResourcePatternTypeAny || f.PatternType > kmsg.ACLResourcePatternTypePrefixed:
		return fmt.Errorf("%w: filter pattern type %v", ErrInvalid, f.PatternType)
	case f.Operation != kmsg.ACLOperationAny && !concreteOperation(f.Operation):
		return fmt.Errorf("%w: filter operation %v", ErrInvalid, f.Operation)
	case f.Permission < kmsg.ACLPermissionTypeAny || f.Permission > kmsg.ACLPermissionTypeAllow:
		return fmt.Errorf("%w: filter permission type %v", ErrInvalid, f.Permission)
	}
	return nil
}

func concreteResourceType(t kmsg.ACLResourceType) bool {
	return t >= kmsg.ACLResourceTypeTopic && t <= kmsg.ACLResourceTypeUser
}

func concreteOperation(op kmsg.ACLOperation) bool {
	return op >= kmsg.ACLOperationAll && op <= kmsg.ACLOperationDescribeTokens
}

// Matches reports whether the filter selects b (Kafka's
// AclBindingFilter.matches).
func (f Filter) Matches(b Binding) bool {
	return f.matchesResource(b) && f.matchesEntry(b)
}

func (f Filter) matchesResource(b Binding) bool {
	if f.ResourceType != kmsg.ACLResourceTypeAny && f.ResourceType != b.ResourceType {
		return false
	}
	if f.PatternType != kmsg.ACLResourcePatternTypeAny && f.PatternType != kmsg.ACLResourcePatternTypeMatch &&
		f.PatternType != b.PatternType {
		return false
	}
	if f.ResourceName == nil {
		return true
	}
	name := *f.ResourceName
	if f.PatternType != kmsg.ACLResourcePatternTypeMatch {
		return name == b.ResourceName
	}
	switch b.PatternType {
	case kmsg.ACLResourcePatternTypeLiteral:
		return name == b.ResourceName || b.ResourceName == Wildcard
	case kmsg.ACLResourcePatternTypePrefixed:
		return strings.HasPrefix(name, b.ResourceName)
	}
	return false
}

func (f Filter) matchesEntry(b Binding) bool {
	return (f.Principal == nil || *f.Principal == b.Principal) &&
		(f.Host == nil || *f.Host == b.Host) &&
		(f.Operation == kmsg.ACLOperationAny || f.Operation == b.Operation) &&
		(f.Permission == kmsg.ACLPermissionTypeAny || f.Permission == b.Permission)
}

func (b Binding) stored() metadata.ACL {
	return metadata.ACL{
		ResourceType: int8(b.ResourceType),
		ResourceName: b.ResourceName,
		PatternType:  int8(b.PatternType),
		Principal:    b.Principal,
		Host:         b.Host,
		Operation:    int8(b.Operation),
		Permission:   int8(b.Permission),
	}
}

func fromStored(a metadata.ACL) Binding {
	return Binding{
		ResourceType: kmsg.ACLResourceType(a.ResourceType),
		ResourceName: a.ResourceName,
		PatternType:  kmsg.ACLResourcePatternType(a.PatternType),
		Principal:    a.Principal,
		Host:         a.Host,
		Operation:    kmsg.ACLOperation(a.Operation),
		Permission:   kmsg.ACLPermissionType(a.Permission),
	}
}
