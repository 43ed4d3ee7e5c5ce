package gateway

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOffsetForLeaderEpoch(t *testing.T) {
	g := newTestGateway(t)
	c := testConn(t, g)
	// Three records in partition 1: its epoch 0 ends at offset 3.
	produceTestBatches(t, c, map[int32][]string{1: {"a", "b", "c"}})

	for _, tc := range []struct {
		partition, current, epoch int32
		version                   int16
		wantEpoch                 int32
		wantOffset                int64
		wantErr                   *kerr.Error
	}{
		{partition: 1, current: 0, epoch: 0, version: 4, wantEpoch: 0, wantOffset: 3},
		{partition: 1, current: -1, epoch: 0, version: 2, wantEpoch: 0, wantOffset: 3},
		{partition: 0, current: 0, epoch: 0, version: 0, wantEpoch: 0, wantOffset: 0},
		{partition: 1, current: 0, epoch: 1, version: 4, wantEpoch: -1, wantOffset: -1},
		{partition: 1, current: 0, epoch: -1, version: 4, wantEpoch: -1, wantOffset: -1},
		{partition: 1, current: 1, epoch: 0, version: 4, wantEpoch: -1, wantOffset: -1, wantErr: kerr.UnknownLeaderEpoch},
		{partition: 2, current: 0, epoch: 0, version: 4, wantEpoch: -1, wantOffset: -1, wantErr: kerr.UnknownTopicOrPartition},
	} {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = -1
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = "fuzz"
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = tc.partition, tc.current, tc.epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		req.SetVersion(tc.version)
		r, err := c.handle(requestBody(req, 2))
		if err != nil {
			t.Fatal(err)
		}
		<-r.done
		got := r.resp.(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
		var wantCode int16
		if tc.wantErr != nil {
			wantCode = tc.wantErr.Code
		}
		wantEpoch := tc.wantEpoch
		if tc.version == 0 {
			wantEpoch = -1 // not in v0; the default is kept
		}
		if got.ErrorCode != wantCode || got.EndOffset != tc.wantOffset || (tc.version > 0 && got.LeaderEpoch != wantEpoch) {
			t.Errorf("%+v: got error %v, epoch %d, end offset %d", tc, kerr.ErrorForCode(got.ErrorCode), got.LeaderEpoch, got.EndOffset)
		}
	}
}
