package reader

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// Behind a main cache full of entries read many times, a new entry is
// still there for the next reader: ristretto alone refuses it.
func TestObjectCacheKeepsNewEntries(t *testing.T) {
	t.Parallel()
	c, err := newObjectCache(1 << 20) // a window of 896 KiB, main 128 KiB
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	data := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 64<<10) }
	for i := range 20 { // more than both hold; the window passes them on
		c.add(newEntry("hot"+strconv.Itoa(i), data(i), false))
	}
	for range 10 {
		for i := range 20 {
			if e, ok := c.get("hot" + strconv.Itoa(i)); ok {
				e.release()
			}
		}
	}
	c.main.Wait()
	for i := range 40 {
		key := "new" + strconv.Itoa(i)
		c.add(newEntry(key, data(i), false))
		for n := range 4 { // as many readers as partitions of the object
			e, ok := c.get(key)
			if !ok || !bytes.Equal(e.data, data(i)) {
				t.Fatalf("reader %d of new entry %d: found %v", n, i, ok)
			}
			e.release()
		}
	}
}

// The window keeps its most recently used entries and passes the others
// on to the main cache.
func TestObjectCacheWindowIsLRU(t *testing.T) {
	t.Parallel()
	c, err := newObjectCache(8 << 10) // main 1 KiB
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.max = 1 << 10 // a window of two entries, to watch their order
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
			c.add(newEntry(step.add, make([]byte, 512), false))
		} else if e, ok := c.get(step.get); ok {
			e.release()
		} else {
			t.Fatalf("get %s: missing", step.get)
		}
		var got []string
		for el := c.order.Front(); el != nil; el = el.Next() {
			got = append(got, el.Value.(*entry).key)
		}
		if !slices.Equal(got, step.window) || c.size != int64(512*len(step.window)) {
			t.Fatalf("after add %q get %q: window %v (%d bytes), want %v", step.add, step.get, got, c.size, step.window)
		}
	}
	c.main.Wait()
	e, ok := c.main.Get("b")
	if !ok {
		t.Fatal("b left the window but is not in the main cache, which had room")
	}
	if n := e.refs.Load(); n != 1 {
		t.Errorf("b has %d holders in the main cache, want 1 (the cache)", n)
	}
}

// A pooled buffer is recycled once the cache and every reader have let
// go of it, and never while one still holds it.
func TestEntryRecycledByLastHolder(t *testing.T) {
	t.Parallel()
	c, err := newObjectCache(2 << 20) // a window of 1.75 MiB: one 1 MiB entry
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	buf := getBuf(1 << 20)[:1<<20]
	e := newEntry("obj", buf, true)
	c.add(e)
	held, ok := c.get("obj")
	if !ok || held != e {
		t.Fatal("obj missing right after add")
	}
	// Push obj out of the window; the main cache may keep or refuse it.
	c.add(newEntry("next", make([]byte, 1<<20), false))
	c.main.Wait()
	c.main.Del("obj")
	c.main.Wait()
	if n := e.refs.Load(); n != 1 {
		t.Fatalf("obj has %d holders after the cache let go, want 1 (the reader)", n)
	}
	held.release()
	if e.acquire() {
		t.Fatal("an entry whose last holder let go was acquired again")
	}
}

// Readers racing evictions never see a recycled buffer: every byte they
// read is the byte their entry was made with.
func TestEntryReadersRaceEvictions(t *testing.T) {
	t.Parallel()
	c, err := newObjectCache(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 300 {
				k := (i + w) % 40
				key := strconv.Itoa(k)
				if e, ok := c.get(key); ok {
					if n := bytes.Count(e.data, []byte{byte(k)}); n != len(e.data) {
						t.Errorf("entry %s: %d of %d bytes are someone else's", key, len(e.data)-n, len(e.data))
					}
					e.release()
					continue
				}
				buf := getBuf(128 << 10)[:128<<10]
				for j := range buf {
					buf[j] = byte(k)
				}
				c.add(newEntry(key, buf, true))
			}
		})
	}
	wg.Wait()
}

// An entry costs the cache its buffer's capacity, which a lent pooled
// buffer may make larger than its bytes.
func TestCacheChargesCapacity(t *testing.T) {
	t.Parallel()
	c, err := newObjectCache(4 << 20) // a window of 3.5 MiB
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.add(newEntry("a", make([]byte, 1, 3<<20), false))
	c.add(newEntry("b", make([]byte, 1, 3<<20), false))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries["a"]; ok || c.size != 3<<20 {
		t.Fatalf("window holds %d bytes (a in it: %v), want b's 3 MiB alone", c.size, ok)
	}
}

// A whole object leaving the window is dropped, its buffer recycled, while
// a range is offered to the main cache: ristretto would judge the object
// by the readers done with it, not by those still to come.
func TestObjectCacheDropsWholeObjects(t *testing.T) {
	t.Parallel()
	c, err := newObjectCache(8 << 10) // main 1 KiB
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.max = 1 << 10 // a window of two entries
	whole := newEntry(wholeKey("obj"), make([]byte, 512), false)
	whole.acquire() // the test's own hold, to watch the cache's go
	c.add(whole)
	c.add(newEntry("obj@0+512", make([]byte, 512), false))
	c.add(newEntry("next", make([]byte, 512), false))
	c.add(newEntry("last", make([]byte, 512), false))
	c.main.Wait()
	if _, ok := c.main.Get(wholeKey("obj")); ok {
		t.Error("a whole object that left the window is in the main cache")
	}
	if n := whole.refs.Load(); n != 1 {
		t.Errorf("the whole object has %d holders after leaving the window, want 1 (the test)", n)
	}
	if _, ok := c.main.Get("obj@0+512"); !ok {
		t.Error("a range that left the window is not in the main cache, which had room")
	}
}
