package acl

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// allowPermits reports whether an ALLOW binding of granted permits op, as
// Kafka's StandardAuthorizer decides: ALL permits every operation; READ,
// WRITE, DELETE and ALTER also permit DESCRIBE; ALTER_CONFIGS also
// permits DESCRIBE_CONFIGS.
func allowPermits(granted, op kmsg.ACLOperation) bool {
	if granted == op || granted == kmsg.ACLOperationAll {
		return true
	}
	switch op {
	case kmsg.ACLOperationDescribe:
		switch granted {
		case kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter:
			return true
		}
	case kmsg.ACLOperationDescribeConfigs:
		return granted == kmsg.ACLOperationAlterConfigs
	}
	return false
}

// namesOperation reports whether a binding of bound is about op itself:
// op or ALL. That is all a DENY forbids (DENY READ leaves DESCRIBE alone),
// and all that counts when asking about any resource of a type.
func namesOperation(bound, op kmsg.ACLOperation) bool {
	return bound == op || bound == kmsg.ACLOperationAll
}

// supportedOperations are the operations Kafka reports in authorized
// operations for each resource type (AclEntry.supportedOperations).
func supportedOperations(t kmsg.ACLResourceType) []kmsg.ACLOperation {
	switch t {
	case kmsg.ACLResourceTypeTopic:
		return topicOperations
	case kmsg.ACLResourceTypeGroup:
		return groupOperations
	case kmsg.ACLResourceTypeCluster:
		return clusterOperations
	case kmsg.ACLResourceTypeTransactionalId:
		return transactionalIDOperations
	case kmsg.ACLResourceTypeDelegationToken:
		return delegationTokenOperations
	case kmsg.ACLResourceTypeUser:
		return userOperations
	}
	return nil
}

// Operations are the operations of resource type t (nil for a type
// without any), as Kafka's AclEntry.supportedOperations lists them: what
// an ACL on t may name besides ALL. It is a copy, for the caller to append to.
func Operations(t kmsg.ACLResourceType) []kmsg.ACLOperation {
	return slices.Clone(supportedOperations(t))
}

var (
	topicOperations = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate,
		kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	// Groups gained their configs with KIP-848.
	groupOperations = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	clusterOperations = []kmsg.ACLOperation{kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite,
		kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe}
	transactionalIDOperations = []kmsg.ACLOperation{kmsg.ACLOperationDescribe, kmsg.ACLOperationWrite}
	delegationTokenOperations = []kmsg.ACLOperation{kmsg.ACLOperationDescribe}
	userOperations            = []kmsg.ACLOperation{kmsg.ACLOperationCreateTokens, kmsg.ACLOperationDescribeTokens}
)

// SupportedOperations is the authorized-operations bit field of every
// operation Kafka reports for the resource type: what a broker without an
// authorizer answers in Metadata, DescribeGroups and DescribeCluster.
func SupportedOperations(t kmsg.ACLResourceType) int32 {
	return operationBits(t, func(kmsg.ACLOperation) bool { return true })
}

// operationBits is Kafka's bit field (Utils.to32BitField) of the
// resource type's supported operations that allowed permits: bit i is set
// for the operation whose code is i, e.g. READ (3) is 1<<3.
func operationBits(t kmsg.ACLResourceType, allowed func(kmsg.ACLOperation) bool) int32 {
	var bits int32
	for _, op := range supportedOperations(t) {
		if allowed(op) {
			bits |= 1 << op
		}
	}
	return bits
}
