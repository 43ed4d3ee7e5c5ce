package gateway

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
)

// Behind a main cache full of entries read many times, a new entry is
// still there for the next reader: ristretto alone refuses it.
func TestObjectCacheKeepsNewEntries(t *testing.T) {
	t.Parallel()
	c, err := newObjectCache(1 << 20) // window 256 KiB, main 768 KiB
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	entry := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 64<<10) }
	for i := range 20 { // more than both hold; the window passes them on
		c.add("hot"+strconv.Itoa(i), entry(i))
	}
	for range 10 {
		for i := range 20 {
			c.get("hot" + strconv.Itoa(i))
		}
	}
	c.main.Wait()
	for i := range 40 {
		key := "new" + strconv.Itoa(i)
		c.add(key, entry(i))
		for n := range 4 { // as many readers as partitions of the object
			if got, ok := c.get(key); !ok || !bytes.Equal(got, entry(i)) {
				t.Fatalf("reader %d of new entry %d: found %v", n, i, ok)
			}
		}
	}
}

// The window keeps its most recently used entries and passes the others
// on to the main cache.
func TestObjectCacheWindowIsLRU(t *testing.T) {
	t.Parallel()
	c, err := newObjectCache(4 << 10) // window 1 KiB
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for _, step := range []struct {
		add, get string
		window   []string
	}{
		{add: "a", window: []string{"a"}},
		{add: "b", window: []string{"b", "a"}},
		{get: "a", window: []string{"a", "b"}},
		{add: "c", window: []string{"c", "a"}},
		{add: "a", window: []string{"a", "c"}},
		{add: "d", window: []string{"d", "a"}},
	} {
		if step.add != "" {
			c.add(step.add, make([]byte, 512))
		} else if _, ok := c.get(step.get); !ok {
			t.Fatalf("get %s: missing", step.get)
		}
		var got []string
		for e := c.order.Front(); e != nil; e = e.Next() {
			got = append(got, e.Value.(*cached).key)
		}
		if !slices.Equal(got, step.window) || c.size != int64(512*len(step.window)) {
			t.Fatalf("after add %q get %q: window %v (%d bytes), want %v", step.add, step.get, got, c.size, step.window)
		}
	}
	c.main.Wait()
	if _, ok := c.main.Get("b"); !ok {
		t.Error("b left the window but is not in the main cache, which had room")
	}
}
