package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/caudal/caudal/gateway/acl"
	"github.com/caudal/caudal/gateway/auth"
	"github.com/caudal/caudal/gateway/groups"
	"github.com/caudal/caudal/gateway/writer"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
	"github.com/twmb/franz-go/pkg/kerr"
)

// errorCodes maps the typed errors of the other packages to Kafka codes.
// Storage that cannot be reached maps to KAFKA_STORAGE_ERROR, which clients
// retry; nothing was acknowledged, so a retry is safe.
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{metadata.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists},
	{metadata.ErrInvalidPartitions, kerr.InvalidPartitions},
	{metadata.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{metadata.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{metadata.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{metadata.ErrInvalidTxnState, kerr.InvalidTxnState},
	{metadata.ErrUnavailable, kerr.KafkaStorageError},
	{objstore.ErrUnavailable, kerr.KafkaStorageError},
	{objstore.ErrNotFound, kerr.KafkaStorageError},
	{objstore.ErrDenied, kerr.KafkaStorageError},
	{context.DeadlineExceeded, kerr.RequestTimedOut},
	{context.Canceled, kerr.RequestTimedOut},
	{writer.ErrClosed, kerr.NotLeaderForPartition},
	{groups.ErrStopped, kerr.NotCoordinator},
	{groups.ErrGroupNotFound, kerr.GroupIDNotFound},
	{groups.ErrNonEmptyGroup, kerr.NonEmptyGroup},
	{segments.ErrCorruptBatch, kerr.CorruptMessage},
	{segments.ErrInvalidRecord, kerr.InvalidRecord},
	{segments.ErrUnsupportedMagic, kerr.UnsupportedForMessageFormat},
	{segments.ErrUnsupportedCodec, kerr.UnsupportedCompressionType},
	{segments.ErrMissingKey, kerr.InvalidRecord},
	{segments.ErrTooLarge, kerr.MessageTooLarge},
	{segments.ErrCorruptObject, kerr.KafkaStorageError},
	{acl.ErrInvalid, kerr.InvalidRequest},
	{auth.ErrAuthenticationFailed, kerr.SaslAuthenticationFailed},
	{auth.ErrIllegalSaslState, kerr.IllegalSaslState},
	{auth.ErrUnsupportedMechanism, kerr.UnsupportedSaslMechanism},
	{auth.ErrUnacceptableCredential, kerr.UnacceptableCredential},
	{auth.ErrResourceNotFound, kerr.ResourceNotFound},
	{auth.ErrDuplicateResource, kerr.DuplicateResource},
}

// errCode returns the Kafka error code for err; 0 for nil.
func errCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code.Code
		}
	}
	return kerr.UnknownServerError.Code
}

// groupErrCode is errCode for the group coordinator: a metadata store
// that cannot be reached is COORDINATOR_NOT_AVAILABLE, as Kafka answers
// while the offsets topic is unavailable; clients retry that (find the
// coordinator again), where KAFKA_STORAGE_ERROR fails a commit.
func groupErrCode(err error) int16 {
	if errors.Is(err, metadata.ErrUnavailable) {
		return kerr.CoordinatorNotAvailable.Code
	}
	return errCode(err)
}

// internalErrors are the classes whose text describes caudal's insides
// (database addresses, object keys, bucket endpoints), not the request.
var internalErrors = []error{
	metadata.ErrUnavailable, objstore.ErrUnavailable, objstore.ErrNotFound, objstore.ErrDenied,
	segments.ErrCorruptObject, context.DeadlineExceeded, context.Canceled,
}

// errMessage is the text sent in responses that carry one: what caudal
// says about the request. An internal error, or one no class describes,
// gets none, and the client shows its code's standard text; the gateway
// logs the details where they happen.
func errMessage(err error) *string {
	if err == nil || errCode(err) == kerr.UnknownServerError.Code {
		return nil
	}
	var ke *kafkaError
	if !errors.As(err, &ke) {
		for _, internal := range internalErrors {
			if errors.Is(err, internal) {
				return nil
			}
		}
	}
	s := err.Error()
	return &s
}

// kafkaError carries a Kafka error code with a message for the client.
type kafkaError struct {
	code *kerr.Error
	msg  string
}

func (e *kafkaError) Error() string { return e.msg }
func (e *kafkaError) Unwrap() error { return e.code }

func kafkaErr(code *kerr.Error, format string, args ...any) error {
	return &kafkaError{code: code, msg: fmt.Sprintf(format, args...)}
}
