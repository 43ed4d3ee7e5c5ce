package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// writesConn records the size of every Write. It is not a *net.TCPConn,
// so net.Buffers writes it one buffer per Write: a vectored body shows up
// as writes of the parts' sizes, net/http's copy as 32 KiB chunks.
type writesConn struct {
	net.Conn
	mu     sync.Mutex
	writes []int
}

func (c *writesConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// A body marked with its parts reaches the connection as the parts
// themselves, cut at sendChunk, and the server receives their
// concatenation; an unmarked body takes net/http's copy.
func TestVectoredSend(t *testing.T) {
	t.Parallel()
	parts := [][]byte{random(40_000), {}, random(7), random(sendChunk + 5), random(100_000)}
	for _, tc := range []struct {
		name   string
		marked bool
		want   []int // the body's writes after the headers'
	}{
		{"marked", true, []int{40_000, 7, sendChunk - 40_007, 40_012, 100_000}},
		{"unmarked", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan []byte, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				data, _ := io.ReadAll(r.Body)
				got <- data
			}))
			defer srv.Close()
			var conn *writesConn
			tr := &http.Transport{DialContext: vectorDial(func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				conn = &writesConn{Conn: c}
				return conn, err
			}, false)}
			defer tr.CloseIdleConnections()
			body := newPartsReader(parts)
			ctx := t.Context()
			if tc.marked {
				ctx = withParts(ctx, body)
			}
			// An SDK's wrapper, which hides the parts reader.
			req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, struct{ io.Reader }{body})
			req.ContentLength = body.size
			resp, err := vectorClient{&http.Client{Transport: tr}}.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if data := <-got; !bytes.Equal(data, bytes.Join(parts, nil)) {
				t.Fatalf("server received %d bytes, not the %d of the parts", len(data), body.size)
			}
			writes := conn.writes[1:] // the headers
			if !tc.marked {
				if i := slices.IndexFunc(writes, func(n int) bool { return n > 32<<10 }); i >= 0 {
					t.Fatalf("unmarked body written in %v, want net/http's chunks", writes)
				}
				return
			}
			if !slices.Equal(writes, tc.want) {
				t.Fatalf("body written in %v, want %v", writes, tc.want)
			}
		})
	}
}

// A PUT that the store fails partway through its body is retried from
// the start, and the attempt that succeeds carries the whole object: the
// rewound parts are not disturbed by the failed attempt's send.
func TestVectoredPutRetried(t *testing.T) {
	t.Parallel()
	parts := [][]byte{random(3 << 20), random(1 << 20), random(123)}
	var tries atomic.Int64
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) < 3 {
			io.CopyN(io.Discard, r.Body, 100<<10)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `<Error><Code>InternalError</Code><Message>injected</Message></Error>`)
			return
		}
		data, _ := io.ReadAll(r.Body)
		got <- data
	}))
	defer srv.Close()
	u, _ := url.Parse("s3://bucket?endpoint=" + srv.URL)
	b, err := openS3(t.Context(), u, s3Options{creds: credentials.NewStaticCredentialsProvider("id", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	joined := bytes.Join(parts, nil)
	if err := b.putParts(t.Context(), "k", parts, crc32.Checksum(joined, castagnoli)); err != nil {
		t.Fatal(err)
	}
	if data := <-got; !bytes.Equal(data, joined) {
		t.Fatalf("third attempt carried %d bytes, not the object's %d", len(data), len(joined))
	}
	if n := tries.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

// A closed attempt's body gives nothing more, however it is read.
func TestSendBodyClosed(t *testing.T) {
	t.Parallel()
	body := &sendBody{r: newPartsReader([][]byte{random(10)})}
	if bufs := body.take(4); len(bufs) != 1 || len(bufs[0]) != 4 {
		t.Fatalf("take before close: %v", bufs)
	}
	body.Close()
	if bufs := body.take(4); bufs != nil {
		t.Fatalf("take after close: %v", bufs)
	}
	if n, err := body.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("read after close: %d, %v", n, err)
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
