package e2e

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawBatch builds a RecordBatch v2 with one record per value, record i at
// timestamps[i], and a correct CRC-32C.
func rawBatch(timestamps []int64, values ...[]byte) []byte {
	var recs []byte
	for i, v := range values {
		var r []byte
		r = append(r, 0) // attributes
		r = kbin.AppendVarlong(r, timestamps[i]-timestamps[0])
		r = kbin.AppendVarint(r, int32(i))
		r = kbin.AppendVarint(r, -1) // null key
		r = kbin.AppendVarintBytes(r, v)
		r = kbin.AppendVarint(r, 0) // no headers
		recs = kbin.AppendVarint(recs, int32(len(r)))
		recs = append(recs, r...)
	}
	rb := kmsg.RecordBatch{
		Magic:           2,
		LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp:  timestamps[0],
		MaxTimestamp:    slices.Max(timestamps),
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      int32(len(values)),
		Records:         recs,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// produceRaw sends one batch to topic/partition and returns the
// partition's answer.
func produceRaw(t *testing.T, cl *kgo.Client, topic string, partition int32, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t, 30*time.Second), cl)
	if err != nil {
		t.Fatalf("produce to %s/%d: %v", topic, partition, err)
	}
	return resp.Topics[0].Partitions[0]
}

func wantCode(t *testing.T, what string, code int16, want *kerr.Error) {
	t.Helper()
	if got := kerr.ErrorForCode(code); got != want {
		t.Errorf("%s: error %v, want %v", what, got, want)
	}
}

// TestBrokerErrors checks that caudal answers as a Kafka broker would.
func TestBrokerErrors(t *testing.T) {
	onEachBackend(t, func(t *testing.T, c *testenv.Caudal) {
		cl := newClient(t, c.Addr)
		adm := kadm.NewClient(cl)
		testenv.CreateTopics(t, c.Addr, 2, "errs")
		ok := rawBatch([]int64{1000}, []byte("v"))

		t.Run("ProduceUnknownTopic", func(t *testing.T) {
			wantCode(t, "produce to unknown topic", produceRaw(t, cl, "no-such-topic", 0, ok).ErrorCode, kerr.UnknownTopicOrPartition)
			wantCode(t, "produce to unknown partition", produceRaw(t, cl, "errs", 7, ok).ErrorCode, kerr.UnknownTopicOrPartition)
		})
		t.Run("ProduceTooLarge", func(t *testing.T) {
			big := rawBatch([]int64{1000}, bytes.Repeat([]byte("x"), 1_100_000))
			wantCode(t, "produce 1.1 MB batch", produceRaw(t, cl, "errs", 0, big).ErrorCode, kerr.MessageTooLarge)
		})
		t.Run("ProduceCorruptCRC", func(t *testing.T) {
			bad := bytes.Clone(ok)
			bad[len(bad)-1] ^= 0xff // the value changes, the CRC does not
			wantCode(t, "produce with bad CRC", produceRaw(t, cl, "errs", 0, bad).ErrorCode, kerr.CorruptMessage)
			bad = bytes.Clone(ok)
			bad[17] ^= 0xff // the CRC itself
			wantCode(t, "produce with bad CRC field", produceRaw(t, cl, "errs", 0, bad).ErrorCode, kerr.CorruptMessage)
		})
		t.Run("FetchOutOfRange", func(t *testing.T) {
			topics, err := adm.ListTopics(testCtx(t, 30*time.Second), "errs")
			if err != nil {
				t.Fatal(err)
			}
			req := kmsg.NewPtrFetchRequest()
			req.MaxWaitMillis, req.MaxBytes, req.ReplicaID = 10, 1<<20, -1
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = "errs", topics["errs"].ID
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1, 1000, 1<<20, -1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(testCtx(t, 30*time.Second), cl)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, "fetch at 1000 of an empty partition", resp.Topics[0].Partitions[0].ErrorCode, kerr.OffsetOutOfRange)
		})
		t.Run("InvalidTopicName", func(t *testing.T) {
			resp, err := adm.CreateTopics(testCtx(t, 30*time.Second), 1, 1, nil, "bad/name", "..")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range resp {
				if r.Err != kerr.InvalidTopicException {
					t.Errorf("create %q: %v, want INVALID_TOPIC_EXCEPTION", r.Topic, r.Err)
				}
			}
			mreq := kmsg.NewPtrMetadataRequest()
			mt := kmsg.NewMetadataRequestTopic()
			mt.Topic = kmsg.StringPtr("bad name!")
			mreq.Topics = append(mreq.Topics, mt)
			mreq.AllowAutoTopicCreation = true
			mresp, err := mreq.RequestWith(testCtx(t, 30*time.Second), cl)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, "metadata of an illegal name", mresp.Topics[0].ErrorCode, kerr.InvalidTopicException)
		})
		t.Run("CreateTooManyPartitions", func(t *testing.T) {
			resp, err := adm.CreateTopics(testCtx(t, 30*time.Second), 1<<31-1, 1, nil, "huge")
			if err != nil {
				t.Fatal(err)
			}
			if r := resp["huge"]; r.Err != kerr.InvalidPartitions {
				t.Errorf("create with 2^31-1 partitions: %v, want INVALID_PARTITIONS", r.Err)
			}
		})
		t.Run("CreateExisting", func(t *testing.T) {
			resp, err := adm.CreateTopics(testCtx(t, 30*time.Second), 1, 1, nil, "errs")
			if err != nil {
				t.Fatal(err)
			}
			if r := resp["errs"]; r.Err != kerr.TopicAlreadyExists {
				t.Errorf("create existing: %v, want TOPIC_ALREADY_EXISTS", r.Err)
			}
		})
		t.Run("CreatePartitionsDecrease", func(t *testing.T) {
			req := kmsg.NewPtrCreatePartitionsRequest()
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = "errs", 1
			req.Topics = append(req.Topics, rt)
			req.TimeoutMillis = 10_000
			resp, err := req.RequestWith(testCtx(t, 30*time.Second), cl)
			if err != nil {
				t.Fatal(err)
			}
			r := resp.Topics[0]
			wantCode(t, "decrease partitions", r.ErrorCode, kerr.InvalidPartitions)
			if r.ErrorMessage == nil || *r.ErrorMessage == "" {
				t.Errorf("INVALID_PARTITIONS without a message")
			}
		})
		t.Run("DeleteRecordsAndTimestamps", func(t *testing.T) {
			testenv.CreateTopics(t, c.Addr, 1, "offsets")
			// Offsets 0-4 in one batch, 5-9 in another; the largest
			// timestamp (9000) is at offset 2, and again at offset 6:
			// Kafka's MAX_TIMESTAMP answers the earliest.
			b1 := rawBatch([]int64{1000, 2000, 9000, 3000, 4000}, []byte("0"), []byte("1"), []byte("2"), []byte("3"), []byte("4"))
			b2 := rawBatch([]int64{5000, 9000, 7000, 8000, 8500}, []byte("5"), []byte("6"), []byte("7"), []byte("8"), []byte("9"))
			for i, b := range [][]byte{b1, b2} {
				r := produceRaw(t, cl, "offsets", 0, b)
				if r.ErrorCode != 0 || r.BaseOffset != int64(5*i) {
					t.Fatalf("produce batch %d: error %v, base offset %d", i, kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
				}
			}
			ctx := testCtx(t, 30*time.Second)
			for _, tc := range []struct {
				ms         int64
				wantOffset int64
			}{{0, 0}, {1000, 0}, {1001, 1}, {2500, 2}, {4500, 2}, {9000, 2}, {9001, -1}} {
				// As in Kafka: the first offset, in log order, whose
				// timestamp is at or after the one asked; 9000 at
				// offset 2 precedes 5000 at offset 5.
				listed, err := adm.ListOffsetsAfterMilli(ctx, tc.ms, "offsets")
				if err != nil {
					t.Fatal(err)
				}
				o, _ := listed.Lookup("offsets", 0)
				if o.Err != nil || o.Offset != tc.wantOffset {
					// kadm maps "none" (-1) to the end offset.
					if !(tc.wantOffset == -1 && o.Offset == 10) {
						t.Errorf("offset for time %d: %d (%v), want %d", tc.ms, o.Offset, o.Err, tc.wantOffset)
					}
				}
			}
			req := kmsg.NewPtrListOffsetsRequest()
			req.ReplicaID = -1
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = "offsets"
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -3, -1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.Offset != 2 || p.Timestamp != 9000 {
				t.Errorf("max timestamp: offset %d at %d (%v), want 2 at 9000", p.Offset, p.Timestamp, kerr.ErrorForCode(p.ErrorCode))
			}

			del, err := adm.DeleteRecords(ctx, kadm.Offsets{"offsets": {0: kadm.Offset{Topic: "offsets", Partition: 0, At: 7}}})
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := del.Lookup("offsets", 0); d.Err != nil || d.LowWatermark != 7 {
				t.Errorf("delete records to 7: low watermark %d (%v)", d.LowWatermark, d.Err)
			}
			starts, err := adm.ListStartOffsets(ctx, "offsets")
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := starts.Lookup("offsets", 0); o.Err != nil || o.Offset != 7 {
				t.Errorf("earliest after DeleteRecords: %d (%v), want 7", o.Offset, o.Err)
			}
			listed, err := adm.ListOffsetsAfterMilli(ctx, 0, "offsets")
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := listed.Lookup("offsets", 0); o.Offset != 7 {
				t.Errorf("offset for time 0 after DeleteRecords: %d, want 7", o.Offset)
			}
			// A consumer from the start begins at the new log start.
			got := consumeAll(t, c.Addr, []string{"offsets"}, 3)
			if recs := got["offsets"][0]; recs[0].Offset != 7 || string(recs[0].Value) != "7" {
				t.Errorf("first record after DeleteRecords: offset %d value %q", recs[0].Offset, recs[0].Value)
			}
		})
		t.Run("Configs", func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			cfgs, err := adm.DescribeTopicConfigs(ctx, "errs")
			if err != nil {
				t.Fatal(err)
			}
			rc, err := cfgs.On("errs", nil)
			if err != nil || rc.Err != nil {
				t.Fatalf("describe configs: %v %v", err, rc.Err)
			}
			values := map[string]string{}
			for _, c := range rc.Configs {
				values[c.Key] = c.MaybeValue()
			}
			for k, v := range map[string]string{"retention.ms": "604800000", "cleanup.policy": "delete", "max.message.bytes": "1048588"} {
				if values[k] != v {
					t.Errorf("default %s = %q, want %q", k, values[k], v)
				}
			}
			alter := func(op kadm.IncrementalOp, value string) {
				t.Helper()
				resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: op, Name: "retention.ms", Value: kmsg.StringPtr(value)}}, "errs")
				if err != nil {
					t.Fatal(err)
				}
				if r, _ := resp.On("errs", nil); r.Err != nil {
					t.Fatalf("alter retention.ms: %v %s", r.Err, r.ErrMessage)
				}
			}
			describe := func() kadm.Config {
				t.Helper()
				cfgs, err := adm.DescribeTopicConfigs(ctx, "errs")
				if err != nil {
					t.Fatal(err)
				}
				rc, _ := cfgs.On("errs", nil)
				for _, c := range rc.Configs {
					if c.Key == "retention.ms" {
						return c
					}
				}
				t.Fatal("no retention.ms")
				return kadm.Config{}
			}
			alter(kadm.SetConfig, "3600000")
			if c := describe(); c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
				t.Errorf("after SET: retention.ms = %s (%v)", c.MaybeValue(), c.Source)
			}
			alter(kadm.DeleteConfig, "")
			if c := describe(); c.MaybeValue() != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig {
				t.Errorf("after DELETE: retention.ms = %s (%v)", c.MaybeValue(), c.Source)
			}
			resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kmsg.StringPtr("soon")}}, "errs")
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := resp.On("errs", nil); r.Err != kerr.InvalidConfig {
				t.Errorf("SET retention.ms=soon: %v, want INVALID_CONFIG", r.Err)
			}
		})
		t.Run("ValidateOnlyCreate", func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			resp, err := adm.ValidateCreateTopics(ctx, 3, 1, nil, "validated")
			if err != nil {
				t.Fatal(err)
			}
			if r := resp["validated"]; r.Err != nil || r.NumPartitions != 3 {
				t.Errorf("validate-only create: %v, %d partitions", r.Err, r.NumPartitions)
			}
			topics, err := adm.ListTopics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if topics.Has("validated") {
				t.Errorf("validate-only CreateTopics created the topic")
			}
		})
		t.Run("AutoCreate", func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			req := kmsg.NewPtrMetadataRequest()
			mt := kmsg.NewMetadataRequestTopic()
			mt.Topic = kmsg.StringPtr("auto-created")
			req.Topics = append(req.Topics, mt)
			req.AllowAutoTopicCreation = true
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			// As Kafka: the request that creates the topic gets
			// LEADER_NOT_AVAILABLE, the next one sees the topic.
			if r := resp.Topics[0]; r.ErrorCode != kerr.LeaderNotAvailable.Code || len(r.Partitions) != 0 {
				t.Errorf("auto-create: %v, %d partitions", kerr.ErrorForCode(r.ErrorCode), len(r.Partitions))
			}
			if resp, err = req.RequestWith(ctx, cl); err != nil {
				t.Fatal(err)
			}
			if r := resp.Topics[0]; r.ErrorCode != 0 || len(r.Partitions) != 1 {
				t.Errorf("after auto-create: %v, %d partitions", kerr.ErrorForCode(r.ErrorCode), len(r.Partitions))
			}
			topics, err := adm.ListTopics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !topics.Has("auto-created") {
				t.Errorf("Metadata did not create the topic")
			}
			// Not allowed by the client: not created.
			req.Topics[0].Topic = kmsg.StringPtr("not-auto-created")
			req.AllowAutoTopicCreation = false
			resp, err = req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, "metadata without auto-create", resp.Topics[0].ErrorCode, kerr.UnknownTopicOrPartition)
		})
	})
}
