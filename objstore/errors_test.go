package objstore_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/objstore/objstoretest"
	"github.com/caudal/caudal/test/testenv"
)

// Wrong keys are refused by the real server: ErrDenied for every operation.
func TestS3WrongCredentials(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	bucket := srv.NewBucket(t)
	good, err := objstore.Open(t.Context(), srv.URL(bucket, "p"))
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	mustPut(t, good, "k", []byte("secret"))
	for _, creds := range [][2]string{
		{"no-such-user", "whatever-secret"},     // InvalidAccessKeyId
		{testenv.MinIOUser, "the-wrong-secret"}, // SignatureDoesNotMatch
	} {
		b, err := objstore.OpenWithStaticCredentials(t.Context(), srv.URL(bucket, "p"), creds[0], creds[1])
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ctx := t.Context()
		errs := map[string]error{
			"Put":    b.Put(ctx, "k2", []byte("x")),
			"Delete": b.Delete(ctx, "k"),
			"List":   b.List(ctx, "", func(objstore.Attrs) error { return nil }),
		}
		_, errs["Get"] = b.Get(ctx, "k", nil)
		_, errs["GetRange"] = b.GetRange(ctx, "k", 0, 1)
		_, errs["Stat"] = b.Stat(ctx, "k") // HEAD: a status without a body
		for op, err := range errs {
			if !errors.Is(err, objstore.ErrDenied) {
				t.Errorf("%s with key %s: %v, want ErrDenied", op, creds[0], err)
			}
		}
	}
	mustGet(t, good, "k", []byte("secret"))
}

// A store where nothing listens is ErrUnavailable after the retries, in
// bounded time.
func TestS3Unreachable(t *testing.T) {
	t.Parallel()
	addr := testenv.FreeAddr(t)
	b, err := objstore.OpenWithStaticCredentials(t.Context(), "s3://bucket/p?endpoint=http://"+addr, "id", "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	start := time.Now()
	_, err = b.Get(t.Context(), "k", nil)
	if !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("Get from %s where nothing listens: %v, want ErrUnavailable", addr, err)
	}
	var maxAttempts *retry.MaxAttemptsError
	if !errors.As(err, &maxAttempts) || maxAttempts.Attempt != 5 {
		t.Errorf("Get from %s: %v, want it given up after 5 attempts", addr, err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("giving up took %s", took)
	}
}

func TestS3MissingBucket(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	b, err := objstore.Open(t.Context(), srv.URL("no-such-bucket-here", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Get(t.Context(), "k", nil); err == nil || errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get from a missing bucket: %v; want an error that is not ErrNotFound", err)
	}
	if err := b.Put(t.Context(), "k", []byte("x")); err == nil {
		t.Fatal("Put into a missing bucket succeeded")
	}
}

// Each S3 error answer maps to its class, by code or by status alone (HEAD
// answers have no body), and server-side failures are retried.
func TestS3ErrorMapping(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status int
		code   string // "" for no body
		op     string
		want   error
		tries  int64
	}{
		{404, "NoSuchKey", "get", objstore.ErrNotFound, 1},
		{404, "", "stat", objstore.ErrNotFound, 1},
		{416, "InvalidRange", "range", objstore.ErrRange, 1},
		{403, "AccessDenied", "get", objstore.ErrDenied, 1},
		{403, "InvalidAccessKeyId", "put", objstore.ErrDenied, 1},
		{403, "SignatureDoesNotMatch", "list", objstore.ErrDenied, 1},
		{403, "", "stat", objstore.ErrDenied, 1},
		{500, "InternalError", "put", objstore.ErrUnavailable, 5},
		{503, "SlowDown", "get", objstore.ErrUnavailable, 5},
		{503, "", "stat", objstore.ErrUnavailable, 5},
		{502, "", "delete", objstore.ErrUnavailable, 5},
	} {
		t.Run(fmt.Sprintf("%d-%s-%s", c.status, c.code, c.op), func(t *testing.T) {
			t.Parallel()
			var tries atomic.Int64
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tries.Add(1)
				if c.code == "" || r.Method == http.MethodHead {
					w.WriteHeader(c.status)
					return
				}
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(c.status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message><RequestId>1</RequestId></Error>`, c.code)
			}))
			defer fake.Close()
			b, err := objstore.OpenWithStaticCredentials(t.Context(), "s3://bucket/p?endpoint="+fake.URL, "id", "secret")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx := t.Context()
			switch c.op {
			case "get":
				_, err = b.Get(ctx, "k", nil)
			case "range":
				_, err = b.GetRange(ctx, "k", 10, 5)
			case "stat":
				_, err = b.Stat(ctx, "k")
			case "put":
				err = b.Put(ctx, "k", []byte("data"))
			case "delete":
				err = b.Delete(ctx, "k")
			case "list":
				err = b.List(ctx, "", func(objstore.Attrs) error { return nil })
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("%s answered %d %s: %v, want %v", c.op, c.status, c.code, err, c.want)
			}
			if got := tries.Load(); got != c.tries {
				t.Errorf("%s answered %d %s: %d attempts, want %d", c.op, c.status, c.code, got, c.tries)
			}
		})
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"", "/just/a/path", "ftp://host/x", "s3:///prefix", "s3:bucket", "s3://b?foo=bar",
		"s3://b?endpoint=not-a-url", "s3://b?endpoint=ftp://h", "s3://b?region=a&region=b",
		"s3://b/a/../c", "file://remote.host/dir", "file:///dir?x=1", "%zz",
	} {
		if b, err := objstore.Open(t.Context(), u); err == nil {
			b.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

// The fault wrapper fails what it is told to with typed errors, and passes
// the wrapped bucket's typed errors through.
func TestFaults(t *testing.T) {
	t.Parallel()
	inner, _ := openFileBucket(t)
	f := objstoretest.NewFaults(inner)
	var b objstore.Bucket = f
	ctx := t.Context()

	f.FailNext(objstore.OpPut, 2, objstore.ErrUnavailable)
	for range 2 {
		if err := b.Put(ctx, "k", []byte("v")); !errors.Is(err, objstore.ErrUnavailable) || !strings.Contains(err.Error(), "k") {
			t.Fatalf("injected Put failure: %v", err)
		}
	}
	if _, err := inner.Stat(ctx, "k"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("a Put failed before the bucket reached it: %v", err)
	}
	mustPut(t, b, "k", []byte("v"))

	f.FailNextAfter(objstore.OpPut, 1, objstore.ErrUnavailable)
	if err := b.Put(ctx, "k2", []byte("v2")); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("injected after-Put failure: %v", err)
	}
	mustGet(t, inner, "k2", []byte("v2")) // it landed nevertheless

	if _, err := b.Get(ctx, "missing", nil); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get of a missing object through Faults: %v", err)
	}
	if _, err := b.GetRange(ctx, "k", 0, 5); !errors.Is(err, objstore.ErrRange) {
		t.Fatalf("GetRange past the end through Faults: %v", err)
	}
	if err := b.Put(ctx, "../x", nil); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Fatalf("invalid key through Faults: %v", err)
	}

	f.SetHook(func(_ context.Context, op objstore.Op, key string) error {
		if op == objstore.OpGetRange && key == "k" {
			return objstore.ErrDenied
		}
		return nil
	})
	if _, err := b.GetRange(ctx, "k", 0, 1); !errors.Is(err, objstore.ErrDenied) {
		t.Fatalf("hooked GetRange: %v", err)
	}
	mustGet(t, b, "k", []byte("v"))
	f.SetHook(nil)
	if got, err := b.GetRange(ctx, "k", 0, 1); err != nil || string(got) != "v" {
		t.Fatalf("GetRange without the hook: %q, %v", got, err)
	}
	if got := f.Calls(objstore.OpPut); got != 5 {
		t.Errorf("Calls(put) = %d, want 5", got)
	}
	f.Reset()
	if got := f.Calls(objstore.OpPut); got != 0 {
		t.Errorf("Calls(put) after Reset = %d", got)
	}
}

// The metrics wrapper counts operations by outcome and passes errors on.
func TestMetrics(t *testing.T) {
	t.Parallel()
	inner, _ := openFileBucket(t)
	faults := objstoretest.NewFaults(inner)
	reg := prometheus.NewPedanticRegistry()
	b, err := objstore.WithMetrics(faults, reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := objstore.WithMetrics(inner, reg); err != nil { // a second bucket on the same registry
		t.Fatal(err)
	}
	ctx := t.Context()
	mustPut(t, b, "a", []byte("12345"))
	mustGet(t, b, "a", []byte("12345"))
	if _, err := b.Get(ctx, "nope", nil); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatal(err)
	}
	faults.FailNext(objstore.OpStat, 1, objstore.ErrUnavailable)
	if _, err := b.Stat(ctx, "a"); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	if err := b.List(ctx, "", func(objstore.Attrs) error { return stop }); err != stop {
		t.Fatal(err)
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	bytes := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "caudal_objstore_operation_duration_seconds":
				counts[labels["op"]+"/"+labels["outcome"]] = m.GetHistogram().GetSampleCount()
			case "caudal_objstore_bytes_total":
				bytes[labels["op"]] = m.GetCounter().GetValue()
			}
		}
	}
	want := map[string]uint64{"put/ok": 1, "get/ok": 1, "get/not_found": 1, "stat/unavailable": 1, "list/ok": 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("operation counts %v, want %v", counts, want)
	}
	if bytes["put"] != 5 || bytes["get"] != 5 {
		t.Errorf("byte counts %v, want 5 put and 5 got", bytes)
	}
}

// A PUT is one plain request with an unsigned payload and the body's
// CRC-32C in a header: no aws-chunked encoding or checksum trailers, which
// S3-compatible stores handle badly.
func TestS3PutIsPlain(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 1)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		r.ContentLength = n
		select {
		case got <- r.Clone(context.Background()):
		default:
		}
	}))
	defer fake.Close()
	b, err := objstore.OpenWithStaticCredentials(t.Context(), "s3://bucket/p?endpoint="+fake.URL, "id", "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data := randomBytes(3 << 20)
	mustPut(t, b, "k", data)
	r := <-got
	if r.Method != http.MethodPut || r.URL.Path != "/bucket/p/k" {
		t.Errorf("PUT went to %s %s, want path-style /bucket/p/k", r.Method, r.URL.Path)
	}
	if r.ContentLength != 3<<20 || len(r.TransferEncoding) != 0 {
		t.Errorf("body of %d bytes, Transfer-Encoding %q; want a plain body of %d", r.ContentLength, r.TransferEncoding, 3<<20)
	}
	for _, h := range []string{"Content-Encoding", "X-Amz-Trailer", "X-Amz-Decoded-Content-Length", "X-Amz-Sdk-Checksum-Algorithm"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("PUT has %s: %s", h, v)
		}
	}
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "UNSIGNED-PAYLOAD" {
		t.Errorf("PUT has X-Amz-Content-Sha256: %s, want UNSIGNED-PAYLOAD", v)
	}
	crc := binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	if v, want := r.Header.Get("X-Amz-Checksum-Crc32c"), base64.StdEncoding.EncodeToString(crc); v != want {
		t.Errorf("PUT has X-Amz-Checksum-Crc32c: %q, want %q", v, want)
	}
}

// The checksum header is what keeps an unsigned payload's integrity: the
// store must refuse bytes that do not match it.
func TestS3RefusesWrongChecksum(t *testing.T) {
	t.Parallel()
	b := openMinIOBucket(t)
	data := randomBytes(1 << 20)
	wrong := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))+1))
	if err := objstore.PutWithChecksum(t.Context(), b, "k", data, wrong); err == nil {
		t.Fatal("PUT with a wrong CRC-32C succeeded")
	}
	if _, err := b.Get(t.Context(), "k", nil); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("GET after the refused PUT: %v, want ErrNotFound", err)
	}
}
