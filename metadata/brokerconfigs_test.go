package metadata_test

import (
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/caudal/caudal/metadata"
)

func brokerConfigVersion(t *testing.T, s metadata.Store) int64 {
	t.Helper()
	v, err := s.BrokerConfigVersion(ctx)
	if err != nil {
		t.Fatalf("BrokerConfigVersion: %v", err)
	}
	return v
}

// setBrokerConfigs is an update that replaces the configs with next.
func setBrokerConfigs(next map[string]string) func(map[string]string) (map[string]string, error) {
	return func(map[string]string) (map[string]string, error) { return next, nil }
}

// TestBrokerConfigs: the cluster default and each broker keep their own
// configs, the version rises exactly when they change, and an update that
// fails changes nothing.
func TestBrokerConfigs(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		if v := brokerConfigVersion(t, s); v != 0 {
			t.Fatalf("fresh version = %d", v)
		}
		def := map[string]string{"log.retention.ms": "1000", "num.partitions": "3"}
		if err := s.UpdateBrokerConfigs(ctx, "", setBrokerConfigs(def)); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateBrokerConfigs(ctx, "7", setBrokerConfigs(map[string]string{"log.retention.ms": "5"})); err != nil {
			t.Fatal(err)
		}
		v := brokerConfigVersion(t, s)
		if v != 2 {
			t.Fatalf("version after two changes = %d", v)
		}
		all, err := s.ListBrokerConfigs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(all[""], def) || !maps.Equal(all["7"], map[string]string{"log.retention.ms": "5"}) || len(all) != 2 {
			t.Fatalf("listed %v", all)
		}

		// The update sees what is stored; the same configs again are no change.
		err = s.UpdateBrokerConfigs(ctx, "", func(cur map[string]string) (map[string]string, error) {
			if !maps.Equal(cur, def) {
				t.Errorf("update saw %v, want %v", cur, def)
			}
			return cur, nil
		})
		if err != nil || brokerConfigVersion(t, s) != v {
			t.Fatalf("an unchanged update: %v, version %d → %d", err, v, brokerConfigVersion(t, s))
		}
		bad := errors.New("refused")
		if err := s.UpdateBrokerConfigs(ctx, "", func(map[string]string) (map[string]string, error) { return nil, bad }); !errors.Is(err, bad) {
			t.Fatalf("a failing update returned %v", err)
		}
		// Deleting every config of a broker leaves it unlisted.
		if err := s.UpdateBrokerConfigs(ctx, "7", setBrokerConfigs(nil)); err != nil {
			t.Fatal(err)
		}
		all, _ = s.ListBrokerConfigs(ctx)
		if _, ok := all["7"]; ok || !maps.Equal(all[""], def) {
			t.Fatalf("after deleting broker 7's configs: %v", all)
		}
		if brokerConfigVersion(t, s) != v+1 {
			t.Fatalf("version after delete = %d, want %d", brokerConfigVersion(t, s), v+1)
		}
	})
}

// TestBrokerConfigsConcurrent: incremental updates racing on one resource
// all land (each sees the others' results).
func TestBrokerConfigsConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		const n = 8
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := e.s.UpdateBrokerConfigs(ctx, "", func(cur map[string]string) (map[string]string, error) {
					cur[string(rune('a'+i))] = "x"
					return cur, nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		all, err := e.s.ListBrokerConfigs(ctx)
		if err != nil || len(all[""]) != n {
			t.Fatalf("after %d concurrent updates: %v, %v", n, all, err)
		}
		if v := brokerConfigVersion(t, e.s); v != n {
			t.Fatalf("version = %d, want %d", v, n)
		}
	})
}
