package metadata

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestSeqEntriesAreJSON(t *testing.T) {
	t.Parallel()
	for _, es := range [][]seqEntry{
		nil,
		{},
		{{0, 0, 0}},
		{{math.MaxInt32, 4, math.MaxInt64}, {-1, math.MinInt64, 7}},
		{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}, {13, 14, 15}},
	} {
		want, err := json.Marshal(es)
		if err != nil {
			t.Fatal(err)
		}
		got := encodeSeqEntries(es)
		if got != string(want) {
			t.Errorf("encodeSeqEntries(%v) = %s, json.Marshal gives %s", es, got, want)
		}
		back, err := decodeSeqEntries(got)
		if err != nil || !reflect.DeepEqual(back, es) {
			t.Errorf("decodeSeqEntries(%s) = %v, %v; want %v", got, back, err, es)
		}
	}
}

// FuzzDecodeSeqEntries checks the hand parser against encoding/json: on any
// input both succeed with the same entries, or both fail.
func FuzzDecodeSeqEntries(f *testing.F) {
	for _, s := range []string{"null", "[]", "[[1,2,3]]", "[[1,2,3],[4,5,6]]", "[ [1, 2, 3] ]", "[[1,2]]",
		"[[1,2,3,4]]", "[[1,2,3],]", "[[-,2,3]]", "[[99999999999999999999,1,1]]", "[[1,2,3]", "[[01,2,3]]", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := decodeSeqEntries(s)
		var want []seqEntry
		wantErr := json.Unmarshal([]byte(s), &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("decodeSeqEntries(%q) error %v, encoding/json %v", s, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeSeqEntries(%q) = %v, encoding/json %v", s, got, want)
		}
	})
}
