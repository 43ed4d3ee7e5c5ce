package groups

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata/metadatatest"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A rebalance timeout of about 24 days is held to
// group.max.session.timeout.ms, for classic and KIP-848 members alike.
func TestRebalanceTimeoutCapped(t *testing.T) {
	co, _ := testCoordinator(t)
	req := joinReq("g", "", "range")
	req.Version = 3 // no MEMBER_ID_REQUIRED round
	req.RebalanceTimeoutMillis = math.MaxInt32
	if r := co.join(context.Background(), joinInfo{req: req}); r.ErrorCode != 0 {
		t.Fatalf("join: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	for _, m := range co.groups.get("g").members {
		if m.rebalance != co.set.maxSession {
			t.Errorf("rebalance timeout %v, want group.max.session.timeout.ms %v", m.rebalance, co.set.maxSession)
		}
	}
}

// A JoinGroup and a SyncGroup that wait on other members stop waiting
// when their client goes away (the connection's context ends), instead of
// for the rebalance timeout plus 5 s.
func TestWaitsEndWithTheClient(t *testing.T) {
	co, _ := testCoordinator(t)
	a, aw := joinNew(t, co, "g", "range")
	ra := recv(t, aw)
	if sr := co.syncGroup(context.Background(), syncReq("g", a, ra.Generation, map[string]string{a: "A"})); sr.ErrorCode != 0 {
		t.Fatalf("leader sync: %v", kerr.ErrorForCode(sr.ErrorCode))
	}
	// b's join waits for a to rejoin (30 s rebalance timeout).
	r := co.join(context.Background(), joinInfo{req: joinReq("g", "", "range")})
	ctx, cancel := context.WithCancel(context.Background())
	joined := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { joined <- co.join(ctx, joinInfo{req: joinReq("g", r.MemberID, "range")}) }()
	waitJoining(t, co, "g", 1)
	cancel()
	select {
	case resp := <-joined:
		if resp.ErrorCode != kerr.RebalanceInProgress.Code {
			t.Errorf("abandoned join: %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(resp.ErrorCode))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a JoinGroup whose client went away still waits")
	}

	// a and b complete the join; b's SyncGroup waits for a's.
	aw = joinAsync(co, joinReq("g", a, "range"))
	bw := joinAsync(co, joinReq("g", r.MemberID, "range"))
	ra, rb := recv(t, aw), recv(t, bw)
	if ra.ErrorCode != 0 || rb.ErrorCode != 0 {
		t.Fatalf("rejoin: %v %v", kerr.ErrorForCode(ra.ErrorCode), kerr.ErrorForCode(rb.ErrorCode))
	}
	ctx, cancel = context.WithCancel(context.Background())
	synced := make(chan *kmsg.SyncGroupResponse, 1)
	go func() { synced <- co.syncGroup(ctx, syncReq("g", rb.MemberID, rb.Generation, nil)) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case resp := <-synced:
		if resp.ErrorCode != kerr.RebalanceInProgress.Code {
			t.Errorf("abandoned sync: %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(resp.ErrorCode))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a SyncGroup whose client went away still waits")
	}
}

// flakyGroupStore fails the first saves it is asked for.
type flakyGroupStore struct {
	groupStore
	fail  atomic.Int32
	saved atomic.Int32
}

func (s *flakyGroupStore) SaveGroup(ctx context.Context, rec groupRecord) error {
	if s.fail.Add(-1) >= 0 {
		return metadata.ErrUnavailable
	}
	s.saved.Add(1)
	return s.groupStore.SaveGroup(ctx, rec)
}

// A group whose save failed is saved again without waiting for its next
// change.
func TestFailedSaveRetried(t *testing.T) {
	co, _ := testCoordinator(t)
	fs := &flakyGroupStore{groupStore: co.gs}
	fs.fail.Store(2)
	co.gs = fs
	co.set.persistRetry = 10 * time.Millisecond
	co.wg.Add(1)
	go co.persistLoop()
	t.Cleanup(func() {
		close(co.stop)
		co.wg.Wait()
	})
	_, aw := joinNew(t, co, "g", "range")
	recv(t, aw) // one change, marked dirty
	deadline := time.Now().Add(5 * time.Second)
	for fs.saved.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if fs.saved.Load() == 0 {
		t.Fatal("the group was never saved after two failed saves")
	}
	if _, err := fs.groupStore.LoadGroup(context.Background(), "g"); err != nil {
		t.Fatalf("load the saved group: %v", err)
	}
}

// Empty groups leave memory once empty for evictAfter; those without
// committed offsets lose their stored state too, and a later request
// loads the others back.
func TestEmptyGroupsEvicted(t *testing.T) {
	co, clk := testCoordinator(t)
	ctx := context.Background()
	store := metadatatest.OpenSQLite(t, metadata.Options{})
	co.store = store
	for _, name := range []string{"with-offsets", "without"} {
		_, aw := joinNew(t, co, name, "range")
		recv(t, aw)
		code, _ := co.leave(ctx, name, []kmsg.LeaveGroupRequestMember{{MemberID: memberOf(co, name)}})
		if code != 0 {
			t.Fatalf("leave %s: %v", name, kerr.ErrorForCode(code))
		}
	}
	if err := store.CommitOffsets(ctx, "with-offsets", []metadata.GroupOffset{{Topic: "t", Partition: 0, Offset: 5, CommitTime: clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	co.persist(ctx)
	co.evictEmpty(ctx, clk.Now())
	if n := inMemory(co); n != 2 {
		t.Fatalf("%d groups in memory right after they emptied, want 2", n)
	}
	clk.Add(co.set.evictAfter)
	co.evictEmpty(ctx, clk.Now())
	co.persist(ctx)
	if n := inMemory(co); n != 0 {
		t.Fatalf("%d groups in memory after evictAfter, want 0", n)
	}
	if _, err := co.gs.LoadGroup(ctx, "without"); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("state of an evicted group without offsets: %v, want deleted", err)
	}
	gr, err := co.lookup(ctx, "with-offsets", false)
	if err != nil || gr == nil {
		t.Fatalf("a group with offsets is not loaded back: %v", err)
	}
	co.mu.Unlock()
}

func memberOf(co *Coordinator, name string) string {
	co.mu.Lock()
	defer co.mu.Unlock()
	for id := range co.groups.get(name).members {
		return id
	}
	return ""
}

func inMemory(co *Coordinator) int {
	co.mu.Lock()
	defer co.mu.Unlock()
	return len(co.groups.all())
}

// An evicted empty group keeps its offsets for offsets.retention.minutes
// counted from when it became empty, not from their commit (KIP-211), and
// its stored state goes with its last offset. A group another gateway
// coordinates is left to that gateway, which knows whether it has members.
func TestEvictedGroupOffsetsExpire(t *testing.T) {
	co, clk := testCoordinator(t)
	ctx := context.Background()
	store := metadatatest.OpenSQLite(t, metadata.Options{})
	co.store = store
	co.coordinates = func(name string) bool { return name != "elsewhere" }
	committed := clk.Now()
	for _, name := range []string{"g", "elsewhere"} {
		if err := store.CommitOffsets(ctx, name, []metadata.GroupOffset{{Topic: "t", Partition: 0, Offset: 5, CommitTime: committed}}); err != nil {
			t.Fatal(err)
		}
	}
	_, aw := joinNew(t, co, "g", "range")
	recv(t, aw)
	clk.Add(time.Hour) // consuming for an hour after the commit
	if code, _ := co.leave(ctx, "g", []kmsg.LeaveGroupRequestMember{{MemberID: memberOf(co, "g")}}); code != 0 {
		t.Fatalf("leave: %v", kerr.ErrorForCode(code))
	}
	emptied := clk.Now()
	co.persist(ctx)
	clk.Add(co.set.evictAfter)
	co.evictEmpty(ctx, clk.Now())
	if n := inMemory(co); n != 0 {
		t.Fatalf("%d groups in memory after evictAfter, want 0", n)
	}

	offsets := func(name string) int {
		t.Helper()
		offs, err := store.FetchOffsets(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return len(offs)
	}
	clk.Set(committed.Add(co.set.offsetsRetention + time.Minute))
	if err := co.expireOffsets(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if offsets("g") != 1 {
		t.Fatal("offsets expired counting from their commit, not from when the group became empty")
	}
	clk.Set(emptied.Add(co.set.offsetsRetention))
	if err := co.expireOffsets(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if offsets("g") != 0 {
		t.Fatal("offsets kept past retention counted from when the group became empty")
	}
	co.persist(ctx)
	if _, err := co.gs.LoadGroup(ctx, "g"); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("state of a group whose offsets all expired: %v, want deleted", err)
	}
	if offsets("elsewhere") != 1 {
		t.Error("offsets of a group another gateway coordinates expired here")
	}
}
