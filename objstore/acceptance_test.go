package objstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// backend opens a fresh, empty bucket of one kind together with an
// independent view of what the bucket stores.
type backend func(t *testing.T) (objstore.Bucket, verifier)

// verifier looks at a bucket's storage without going through the Bucket
// implementation under test.
type verifier interface {
	// object returns the stored bytes of key, or false if there are none.
	object(t *testing.T, key string) ([]byte, bool)
	// keys returns every stored key in lexical order, as the storage
	// names it (with the s3 prefix).
	keys(t *testing.T) []string
	// storedKey is the name under which the storage keeps key.
	storedKey(key string) string
	// put stores an object by other means.
	put(t *testing.T, key string, data []byte)
}

func TestFileBackend(t *testing.T) {
	t.Parallel()
	runAcceptance(t, func(t *testing.T) (objstore.Bucket, verifier) {
		b, dir := openFileBucket(t)
		return b, fileVerifier{dir}
	})
}

func TestS3BackendOnMinIO(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"caudal/segments", ""} {
		t.Run(fmt.Sprintf("prefix=%q", prefix), func(t *testing.T) {
			t.Parallel()
			runAcceptance(t, func(t *testing.T) (objstore.Bucket, verifier) {
				srv := testenv.MinIO(t)
				bucket := srv.NewBucket(t)
				b, err := objstore.Open(t.Context(), srv.URL(bucket, prefix))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				p := prefix
				if p != "" {
					p += "/"
				}
				return b, minioVerifier{srv.Client(), bucket, p}
			})
		})
	}
}

// The store checks the CRC-32C a caller hands PutWithCRC32C, also through
// the metrics wrapper the gateway puts around its bucket: a wrong one
// fails the PUT and stores nothing.
func TestS3RefusesWrongCRC32C(t *testing.T) {
	t.Parallel()
	for i, b := range alsoMeasured(t, openMinIOBucket(t)) {
		key := fmt.Sprintf("wrong-crc/%d", i)
		data := randomBytes(1 << 20)
		if err := objstore.PutWithCRC32C(t.Context(), b, key, data, crc32.Checksum(data, castagnoli)+1); err == nil {
			t.Fatalf("PutWithCRC32C %s with a wrong CRC-32C succeeded", key)
		}
		if err := objstore.PutParts(t.Context(), b, key, [][]byte{data[:1000], data[1000:]}, crc32.Checksum(data, castagnoli)+1); err == nil {
			t.Fatalf("PutParts %s with a wrong CRC-32C succeeded", key)
		}
		if _, err := b.Get(t.Context(), key, nil); !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("Get %s after the refused PUT: %v, want ErrNotFound", key, err)
		}
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// alsoMeasured is b and b wrapped with metrics, as the gateway wraps its
// bucket.
func alsoMeasured(t *testing.T, b objstore.Bucket) []objstore.Bucket {
	t.Helper()
	measured, err := objstore.WithMetrics(b, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return []objstore.Bucket{b, measured}
}

// runAcceptance is the suite every backend passes unchanged.
func runAcceptance(t *testing.T, open backend) {
	t.Run("GetIntoBuffer", func(t *testing.T) {
		t.Parallel()
		b, _ := open(t)
		data := randomBytes(3 << 20)
		mustPut(t, b, "into", data)
		for _, tc := range []struct {
			name string
			buf  []byte
			into bool
		}{
			{"room", make([]byte, 7, 4<<20), true},
			{"exact", make([]byte, 0, len(data)), true},
			{"too small", make([]byte, 0, len(data)-1), false},
			{"none", nil, false},
		} {
			got, err := b.Get(t.Context(), "into", tc.buf)
			if err != nil {
				t.Fatalf("%s: Get: %v", tc.name, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%s: Get returned %d bytes that differ from the %d put", tc.name, len(got), len(data))
			}
			if into := cap(tc.buf) > 0 && &got[0] == &tc.buf[:1][0]; into != tc.into {
				t.Errorf("%s: read into the given buffer: %v, want %v", tc.name, into, tc.into)
			}
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		for _, size := range []int{0, 1, 1000, 9 << 20} {
			key := fmt.Sprintf("round/trip-%d", size)
			data := randomBytes(size)
			mustPut(t, b, key, data)
			got, err := b.Get(t.Context(), key, nil)
			if err != nil {
				t.Fatalf("Get %s: %v", key, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("Get %s: %d bytes differ from the %d put", key, len(got), len(data))
			}
			a, err := b.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat %s: %v", key, err)
			}
			if a.Key != key || a.Size != int64(size) || a.LastModified.IsZero() {
				t.Fatalf("Stat %s = %+v, want size %d", key, a, size)
			}
			if since := time.Since(a.LastModified); since > time.Hour || since < -time.Hour {
				t.Errorf("Stat %s: LastModified %v is far from now", key, a.LastModified)
			}
			checkStored(t, v, key, data)
		}
	})

	t.Run("PutWithCRC32C", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		for i, bucket := range alsoMeasured(t, b) {
			key := fmt.Sprintf("crc/%d", i)
			data := randomBytes(3 << 20)
			if err := objstore.PutWithCRC32C(t.Context(), bucket, key, data, crc32.Checksum(data, castagnoli)); err != nil {
				t.Fatalf("PutWithCRC32C %s: %v", key, err)
			}
			mustGet(t, bucket, key, data)
			checkStored(t, v, key, data)
		}
	})

	t.Run("PutParts", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		for i, bucket := range alsoMeasured(t, b) {
			key := fmt.Sprintf("parts/%d", i)
			parts := [][]byte{randomBytes(1 << 20), {}, randomBytes(10), randomBytes(300 << 10)}
			data := bytes.Join(parts, nil)
			if err := objstore.PutParts(t.Context(), bucket, key, parts, crc32.Checksum(data, castagnoli)); err != nil {
				t.Fatalf("PutParts %s: %v", key, err)
			}
			mustGet(t, bucket, key, data)
			checkStored(t, v, key, data)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		long, short := randomBytes(5000), randomBytes(10)
		mustPut(t, b, "obj", long)
		mustPut(t, b, "obj", short)
		mustGet(t, b, "obj", short)
		if a, err := b.Stat(t.Context(), "obj"); err != nil || a.Size != int64(len(short)) {
			t.Fatalf("Stat after overwrite = %+v, %v; want size %d", a, err, len(short))
		}
		checkStored(t, v, "obj", short)
		if got := v.keys(t); !slices.Equal(got, []string{v.storedKey("obj")}) {
			t.Fatalf("stored keys %q after overwrite, want just the one", got)
		}
	})

	t.Run("GetRange", func(t *testing.T) {
		t.Parallel()
		b, _ := open(t)
		data := randomBytes(1000)
		mustPut(t, b, "r/obj", data)
		mustPut(t, b, "r/empty", nil)
		for _, r := range []struct{ off, length int64 }{
			{0, 10}, {0, 1}, {500, 100}, {990, 10}, {999, 1}, {0, 1000},
			{0, 0}, {500, 0}, {1000, 0}, // empty ranges within bounds
		} {
			got, err := b.GetRange(t.Context(), "r/obj", r.off, r.length)
			if err != nil {
				t.Fatalf("GetRange(%d, %d): %v", r.off, r.length, err)
			}
			if want := data[r.off : r.off+r.length]; !bytes.Equal(got, want) {
				t.Fatalf("GetRange(%d, %d): got %d bytes, not the %d expected", r.off, r.length, len(got), len(want))
			}
		}
		for _, r := range []struct {
			key         string
			off, length int64
		}{
			{"r/obj", 995, 10}, {"r/obj", 990, 11}, {"r/obj", 1000, 1}, {"r/obj", 5000, 10},
			{"r/obj", 1001, 0}, {"r/obj", -1, 5}, {"r/obj", 0, -1},
			{"r/empty", 0, 1}, {"r/empty", 1, 0},
		} {
			got, err := b.GetRange(t.Context(), r.key, r.off, r.length)
			if !errors.Is(err, objstore.ErrRange) {
				t.Fatalf("GetRange(%s, %d, %d) = %d bytes, %v; want ErrRange", r.key, r.off, r.length, len(got), err)
			}
		}
		if got, err := b.GetRange(t.Context(), "r/empty", 0, 0); err != nil || len(got) != 0 {
			t.Fatalf("GetRange(empty, 0, 0) = %d bytes, %v; want none", len(got), err)
		}
		for _, length := range []int64{0, 10} {
			if _, err := b.GetRange(t.Context(), "r/missing", 0, length); !errors.Is(err, objstore.ErrNotFound) {
				t.Fatalf("GetRange of a missing object, length %d: %v, want ErrNotFound", length, err)
			}
		}
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		b, _ := open(t)
		mustPut(t, b, "dir/present", []byte("x"))
		for _, key := range []string{"absent", "dir/absent", "dir", "dir/present/below"} {
			_, err := b.Get(t.Context(), key, nil)
			if !errors.Is(err, objstore.ErrNotFound) || !strings.Contains(err.Error(), key) {
				t.Fatalf("Get %s: %v, want ErrNotFound naming the key", key, err)
			}
			if _, err := b.Stat(t.Context(), key); !errors.Is(err, objstore.ErrNotFound) {
				t.Fatalf("Stat %s: %v, want ErrNotFound", key, err)
			}
		}
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		mustPut(t, b, "d/a/1", []byte("one"))
		mustPut(t, b, "d/b", []byte("two"))
		for _, key := range []string{"d/a/1", "d/a/1", "never/was", "d", "d/b/c"} {
			if err := b.Delete(t.Context(), key); err != nil {
				t.Fatalf("Delete %s: %v", key, err)
			}
		}
		if _, err := b.Get(t.Context(), "d/a/1", nil); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
		}
		if _, err := b.Stat(t.Context(), "d/a/1"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("Stat after Delete: %v, want ErrNotFound", err)
		}
		if _, ok := v.object(t, "d/a/1"); ok {
			t.Fatal("deleted object still stored")
		}
		mustGet(t, b, "d/b", []byte("two"))
		if got := listKeys(t, b, ""); !slices.Equal(got, []string{"d/b"}) {
			t.Fatalf("List after Delete = %q, want [d/b]", got)
		}
		// The deleted key's place is usable again, as a key or a prefix.
		mustPut(t, b, "d/a", []byte("three"))
		mustGet(t, b, "d/a", []byte("three"))
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		keys := []string{"seg/0002", "seg-x", "seg/a/b/c", "segz", "seg.y", "seg/0001",
			"other/1", "s", "seg/a/b0", "seg/a!", "zz/top"}
		sizes := map[string]int64{}
		for i, k := range keys {
			mustPut(t, b, k, randomBytes(i*7))
			sizes[k] = int64(i * 7)
		}
		sorted := slices.Sorted(slices.Values(keys))
		for _, c := range []struct {
			prefix string
			want   []string
		}{
			{"", sorted},
			{"seg/", []string{"seg/0001", "seg/0002", "seg/a!", "seg/a/b/c", "seg/a/b0"}},
			{"seg", []string{"seg-x", "seg.y", "seg/0001", "seg/0002", "seg/a!", "seg/a/b/c", "seg/a/b0", "segz"}},
			{"seg/a", []string{"seg/a!", "seg/a/b/c", "seg/a/b0"}},
			{"seg/a/b", []string{"seg/a/b/c", "seg/a/b0"}},
			{"seg/a/b/", []string{"seg/a/b/c"}},
			{"seg/0001", []string{"seg/0001"}},
			{"s", []string{"s", "seg-x", "seg.y", "seg/0001", "seg/0002", "seg/a!", "seg/a/b/c", "seg/a/b0", "segz"}},
			{"nope", nil},
			{"zz/top/", nil},
		} {
			var got []string
			err := b.List(t.Context(), c.prefix, func(a objstore.Attrs) error {
				if a.Size != sizes[a.Key] || a.LastModified.IsZero() {
					t.Errorf("List(%q): %+v, want size %d", c.prefix, a, sizes[a.Key])
				}
				got = append(got, a.Key)
				return nil
			})
			if err != nil {
				t.Fatalf("List(%q): %v", c.prefix, err)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("List(%q) = %q, want %q", c.prefix, got, c.want)
			}
		}
		var stored []string
		for _, k := range sorted {
			stored = append(stored, v.storedKey(k))
		}
		if got := v.keys(t); !slices.Equal(got, stored) {
			t.Fatalf("stored keys %q, want %q", got, stored)
		}
		// The callback's error stops the listing and comes back unchanged.
		stop := errors.New("stop here")
		calls := 0
		err := b.List(t.Context(), "seg/", func(objstore.Attrs) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 2 {
			t.Fatalf("List stopped by its callback: %v after %d calls, want the callback's error after 2", err, calls)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		ctx := t.Context()
		for _, key := range []string{"", "/abs", "/", "a/../b", "..", "../up", "a/..", ".", "./a", "a/./b",
			"a//b", "a/", "nul\x00byte", "bad\xffutf8", strings.Repeat("k", 1025)} {
			errs := map[string]error{"Put": b.Put(ctx, key, []byte("x")), "Delete": b.Delete(ctx, key)}
			_, errs["Get"] = b.Get(ctx, key, nil)
			_, errs["GetRange"] = b.GetRange(ctx, key, 0, 1)
			_, errs["Stat"] = b.Stat(ctx, key)
			for op, err := range errs {
				if !errors.Is(err, objstore.ErrInvalidKey) {
					t.Errorf("%s(%q): %v, want ErrInvalidKey", op, key, err)
				}
			}
		}
		if got := v.keys(t); len(got) != 0 {
			t.Fatalf("invalid keys stored %q", got)
		}
		// Unusual but valid keys.
		for _, key := range []string{"a..b/..c/d..", "spa ce/ü/%2F/+/#?", ".hidden/x",
			strings.Repeat(strings.Repeat("k", 99)+"/", 9) + "k"} { // 901 bytes; segments fit a file name
			mustPut(t, b, key, []byte(key))
			mustGet(t, b, key, []byte(key))
			checkStored(t, v, key, []byte(key))
		}
	})

	t.Run("ContextCancelled", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		mustPut(t, b, "there", []byte("x"))
		cancelled, cancel := context.WithCancel(t.Context())
		cancel()
		expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel2()
		for _, c := range []struct {
			ctx   context.Context
			cause error
			class error // also wrapped, or nil for none
		}{
			{cancelled, context.Canceled, nil},
			{expired, context.DeadlineExceeded, objstore.ErrUnavailable},
		} {
			errs := map[string]error{
				"Put":    b.Put(c.ctx, "new", []byte("x")),
				"Delete": b.Delete(c.ctx, "there"),
				"List":   b.List(c.ctx, "", func(objstore.Attrs) error { return nil }),
			}
			_, errs["Get"] = b.Get(c.ctx, "there", nil)
			_, errs["GetRange"] = b.GetRange(c.ctx, "there", 0, 1)
			_, errs["Stat"] = b.Stat(c.ctx, "there")
			for op, err := range errs {
				if !errors.Is(err, c.cause) {
					t.Errorf("%s with %v: %v", op, c.cause, err)
				}
				if c.class != nil && !errors.Is(err, c.class) {
					t.Errorf("%s with %v: %v, want also %v", op, c.cause, err, c.class)
				}
				if c.class == nil && errors.Is(err, objstore.ErrUnavailable) {
					t.Errorf("%s with %v: %v, a cancellation is not ErrUnavailable", op, c.cause, err)
				}
			}
		}
		if _, ok := v.object(t, "new"); ok {
			t.Fatal("Put with a cancelled context stored the object")
		}
		mustGet(t, b, "there", []byte("x"))
		// Cancelled while in flight: either done, or failed as cancelled.
		data := randomBytes(9 << 20)
		ctx, cancel3 := context.WithTimeout(t.Context(), time.Millisecond)
		defer cancel3()
		if err := b.Put(ctx, "big", data); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put cancelled in flight: %v", err)
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		const n = 16
		objects := make([][]byte, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			objects[i] = randomBytes(64<<10 + i)
			wg.Go(func() {
				errs <- b.Put(t.Context(), fmt.Sprintf("c/%02d", i), objects[i])
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Put: %v", err)
			}
		}
		if got := listKeys(t, b, "c/"); len(got) != n {
			t.Fatalf("List after %d concurrent puts: %q", n, got)
		}
		for i := range n {
			key := fmt.Sprintf("c/%02d", i)
			mustGet(t, b, key, objects[i])
			checkStored(t, v, key, objects[i])
		}
	})

	// Segment objects of both key layouts, segments/UUIDv7 left by earlier
	// versions and segments/HH/UUIDv7, are found by one List under the
	// common prefix (recursive, whatever the depth), read and deleted.
	t.Run("SegmentKeyLayouts", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		old := segments.KeyPrefix + "0190a3b2-7c4d-7e5f-8a6b-1c2d3e4f5a6b"
		v.put(t, old, []byte(old))
		want := []string{old}
		for range 20 {
			key, err := segments.NewObjectKey()
			if err != nil {
				t.Fatal(err)
			}
			mustPut(t, b, key, []byte(key))
			want = append(want, key)
		}
		slices.Sort(want)
		if got := listKeys(t, b, segments.KeyPrefix); !slices.Equal(got, want) {
			t.Fatalf("List(%q) = %q, want %q", segments.KeyPrefix, got, want)
		}
		for _, key := range want {
			if got, err := b.GetRange(t.Context(), key, 9, 4); err != nil || string(got) != key[9:13] {
				t.Fatalf("GetRange of %s = %q, %v", key, got, err)
			}
			if err := b.Delete(t.Context(), key); err != nil {
				t.Fatal(err)
			}
		}
		if got := v.keys(t); len(got) != 0 {
			t.Fatalf("stored after deleting every segment object: %q", got)
		}
	})

	t.Run("WrittenByOthers", func(t *testing.T) {
		t.Parallel()
		b, v := open(t)
		data := randomBytes(3000)
		v.put(t, "ext/obj", data)
		mustGet(t, b, "ext/obj", data)
		if got, err := b.GetRange(t.Context(), "ext/obj", 100, 50); err != nil || !bytes.Equal(got, data[100:150]) {
			t.Fatalf("GetRange of an object written by others: %v", err)
		}
		if a, err := b.Stat(t.Context(), "ext/obj"); err != nil || a.Size != 3000 {
			t.Fatalf("Stat of an object written by others = %+v, %v", a, err)
		}
		if got := listKeys(t, b, ""); !slices.Equal(got, []string{"ext/obj"}) {
			t.Fatalf("List = %q, want [ext/obj]", got)
		}
		if err := b.Delete(t.Context(), "ext/obj"); err != nil {
			t.Fatal(err)
		}
		if _, ok := v.object(t, "ext/obj"); ok {
			t.Fatal("Delete left the object in storage")
		}
	})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func mustPut(t *testing.T, b objstore.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Put(t.Context(), key, data); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func mustGet(t *testing.T, b objstore.Bucket, key string, want []byte) {
	t.Helper()
	got, err := b.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get %s: %d bytes, not the %d expected", key, len(got), len(want))
	}
}

func listKeys(t *testing.T, b objstore.Bucket, prefix string) []string {
	t.Helper()
	var keys []string
	if err := b.List(t.Context(), prefix, func(a objstore.Attrs) error {
		keys = append(keys, a.Key)
		return nil
	}); err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

// checkStored checks through v that key holds data.
func checkStored(t *testing.T, v verifier, key string, data []byte) {
	t.Helper()
	got, ok := v.object(t, key)
	if !ok {
		t.Fatalf("%s is not stored as %s", key, v.storedKey(key))
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%s is stored with %d bytes, not the %d put", key, len(got), len(data))
	}
}

// fileVerifier reads the directory of a file:// bucket.
type fileVerifier struct{ dir string }

func (v fileVerifier) storedKey(key string) string { return key }

func (v fileVerifier) object(t *testing.T, key string) ([]byte, bool) {
	data, err := os.ReadFile(filepath.Join(v.dir, filepath.FromSlash(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return data, true
}

// keys lists the directory's files, failing on leftover temporary files.
func (v fileVerifier) keys(t *testing.T) []string {
	var keys []string
	err := filepath.WalkDir(v.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".caudal-tmp-") {
			t.Errorf("temporary file %s left behind", path)
		}
		rel, err := filepath.Rel(v.dir, path)
		keys = append(keys, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func (v fileVerifier) put(t *testing.T, key string, data []byte) {
	path := filepath.Join(v.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// minioVerifier reads an s3:// bucket on MinIO with minio-go.
type minioVerifier struct {
	client *minio.Client
	bucket string
	prefix string // "" or ends with '/'
}

func (v minioVerifier) storedKey(key string) string { return v.prefix + key }

func (v minioVerifier) object(t *testing.T, key string) ([]byte, bool) {
	o, err := v.client.GetObject(t.Context(), v.bucket, v.storedKey(key), minio.GetObjectOptions{})
	if err == nil {
		var data []byte
		data, err = io.ReadAll(o)
		o.Close()
		if err == nil {
			return data, true
		}
	}
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil, false
	}
	t.Fatalf("minio-go get %s: %v", v.storedKey(key), err)
	return nil, false
}

func (v minioVerifier) keys(t *testing.T) []string {
	var keys []string
	for o := range v.client.ListObjects(t.Context(), v.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("minio-go list: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func (v minioVerifier) put(t *testing.T, key string, data []byte) {
	_, err := v.client.PutObject(t.Context(), v.bucket, v.storedKey(key), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("minio-go put %s: %v", v.storedKey(key), err)
	}
}

// openMinIOBucket opens a fresh bucket on the test MinIO, closed when t ends.
func openMinIOBucket(t *testing.T) objstore.Bucket {
	t.Helper()
	srv := testenv.MinIO(t)
	b, err := objstore.Open(t.Context(), srv.URL(srv.NewBucket(t), ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
