package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/test/testenv"
)

// BenchmarkMinIOPut8MiB measures PUT throughput of 8 MiB objects with 4
// concurrent writers: through caudal's s3:// Bucket, with minio-go, and
// with the raw client of the CPU baselines. One iteration is one object.
func BenchmarkMinIOPut8MiB(b *testing.B) {
	const size, concurrency = 8 << 20, 4
	srv := testenv.MinIO(b)
	b.Run("bucket", func(b *testing.B) {
		bucket := openBucket(b, srv.URL(srv.NewBucket(b), "bench"))
		defer bucket.Close()
		putThroughput(b, bucket, b.N, size, concurrency)
	})
	b.Run("minio-go", func(b *testing.B) {
		name, client := srv.NewBucket(b), srv.Client()
		putLoop(b, b.N, size, concurrency, func(ctx context.Context, key string, data []byte) error {
			_, err := client.PutObject(ctx, name, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
			return err
		})
	})
	b.Run("raw", func(b *testing.B) {
		raw := newRawS3(b, srv.URL(srv.NewBucket(b), "bench"))
		defer raw.close()
		putLoop(b, b.N, size, concurrency, raw.put)
	})
}

// putThroughput PUTs objects objects of size bytes into bucket from
// concurrency writers and returns the throughput in MB/s (10^6 bytes). It
// owns b's timer and reports bytes per iteration, so call it with objects =
// b.N to get the figure in the benchmark's MB/s column.
func putThroughput(b *testing.B, bucket objstore.Bucket, objects, size, concurrency int) float64 {
	b.Helper()
	return putLoop(b, objects, size, concurrency, bucket.Put)
}

// putLoop is putThroughput for any PUT function.
func putLoop(b *testing.B, objects, size, concurrency int, put func(ctx context.Context, key string, data []byte) error) float64 {
	b.Helper()
	return putBuffers(b, objects, randomBuffers(concurrency, size), put)
}

// randomBuffers are n buffers of size random bytes, distinct so that no
// layer can deduplicate, and with their pages touched: a client reusing
// them pays nothing for them in what it measures.
func randomBuffers(n, size int) [][]byte {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
		rand.Read(bufs[i])
	}
	return bufs
}

// putBuffers PUTs objects objects from len(data) writers, writer w sending
// data[w] each time, and returns the throughput in MB/s, like putLoop.
func putBuffers(b *testing.B, objects int, data [][]byte, put func(ctx context.Context, key string, data []byte) error) float64 {
	b.Helper()
	size, concurrency := len(data[0]), len(data)
	run := time.Now().UnixNano()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for w := range concurrency {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(objects) || failed.Load() != nil {
					return
				}
				key := fmt.Sprintf("bench/%d/%08d", run, i)
				if err := put(b.Context(), key, data[w]); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatalf("PUT: %v", *err)
	}
	return float64(objects) * float64(size) / 1e6 / elapsed.Seconds()
}
