package worker

import (
	"context"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/objstore/objstoretest"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/worker/job"
)

// The worker refuses to start with a grace period in which a gateway may
// still commit an object orphan GC would delete.
func TestRunRefusesShortGrace(t *testing.T) {
	ctx := context.Background()
	bucket := objstoretest.OpenFile(t)
	store := metadatatest.OpenSQLite(t, metadata.Options{})
	broker, err := topicconfig.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		grace   time.Duration
		refused bool
	}{
		{"commit timeout", segments.CommitTimeout, true},
		{"just short of the bound", segments.MinDeleteGrace - time.Millisecond, true},
		{"the bound", segments.MinDeleteGrace, false},
		{"default", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Cancelled: a worker that starts returns at once.
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			err := Run(ctx, Config{Config: job.Config{Store: store, Bucket: bucket, Broker: broker, Grace: tc.grace}})
			if refused := err != nil; refused != tc.refused {
				t.Fatalf("Run with grace %v: %v; want refused %v", tc.grace, err, tc.refused)
			}
		})
	}
}
