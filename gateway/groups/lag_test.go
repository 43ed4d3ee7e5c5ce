package groups

import (
	"context"
	"maps"
	"testing"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// lagStore serves groups' offsets and partitions' high watermarks, and
// counts the partition reads.
type lagStore struct {
	metadata.Store
	offsets map[string][]metadata.GroupOffset
	next    int64
	reads   int
}

func (s *lagStore) Groups(context.Context) ([]string, error) {
	var names []string
	for n := range s.offsets {
		names = append(names, n)
	}
	return names, nil
}

func (s *lagStore) FetchOffsets(_ context.Context, group string) ([]metadata.GroupOffset, error) {
	return s.offsets[group], nil
}

func (s *lagStore) Partition(_ context.Context, topic uuid.UUID, p int32) (metadata.PartitionState, error) {
	s.reads++
	return metadata.PartitionState{Topic: topic, Partition: p, NextOffset: s.next}, nil
}

// Groups reading the same partition share one read of its high watermark
// per refresh, and each still gets its own lag.
func TestLagReadsEachPartitionOnce(t *testing.T) {
	co, _ := testCoordinator(t)
	co.topics = fixedTopics{{Name: "t", ID: uuid.New(), Partitions: 1}}
	st := &lagStore{next: 100, offsets: map[string][]metadata.GroupOffset{
		"a": {{Topic: "t", Partition: 0, Offset: 40}},
		"b": {{Topic: "t", Partition: 0, Offset: 90}},
		"c": {{Topic: "t", Partition: 0, Offset: 100}, {Topic: "gone", Partition: 0, Offset: 1}},
	}}
	co.store = st
	if err := co.refreshLag(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.reads != 1 {
		t.Errorf("%d reads of one partition's high watermark in a refresh, want 1", st.reads)
	}
	ch := make(chan prometheus.Metric, 10)
	co.lag.Collect(ch)
	close(ch)
	got := map[string]float64{}
	for pm := range ch {
		var m dto.Metric
		if err := pm.Write(&m); err != nil {
			t.Fatal(err)
		}
		labels := ""
		for _, l := range m.GetLabel() {
			labels += l.GetName() + "=" + l.GetValue() + " "
		}
		got[labels] = m.GetGauge().GetValue()
	}
	want := map[string]float64{
		"group=a partition=0 topic=t ": 60,
		"group=b partition=0 topic=t ": 10,
		"group=c partition=0 topic=t ": 0,
	}
	if !maps.Equal(got, want) {
		t.Errorf("lag gauges %v, want %v", got, want)
	}
}
