package objstore

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
)

// Vectored PUTs. net/http sends a request body by copying it through a
// 32 KiB buffer, one write(2) per 32 KiB: for a gateway PUTting the
// produce requests' batches as they arrived, that copy and those system
// calls were a third of its produce CPU. Over plain HTTP, a PUT of parts
// instead hands the parts themselves to writev(2), up to sendChunk bytes a
// call. Over HTTPS the TLS layer copies while it encrypts, so the body
// takes net/http's path unchanged.
//
// The SDK wraps a PUT's body in readers of its own, so put marks its
// context with the parts reader and vectorClient, the SDK's HTTP client,
// swaps each attempt's body for a sendBody over it; vectorConn, the
// transport's connection, recognizes that body when net/http copies it.

// sendChunk bounds one writev: after a failed attempt the transport may go
// on sending while the SDK rewinds the parts for the next, and a closed
// sendBody stops that at the next chunk.
const sendChunk = 1 << 20

type partsKey struct{}

// vectorClient is an http.Client whose PUTs of parts send them vectored.
type vectorClient struct{ *http.Client }

func (c vectorClient) Do(req *http.Request) (*http.Response, error) {
	r, ok := req.Context().Value(partsKey{}).(*partsReader)
	if !ok || req.Body == nil || req.ContentLength != r.size-r.off {
		return c.Client.Do(req)
	}
	body := &sendBody{r: r}
	defer body.Close()
	req.Body = body
	return c.Client.Do(req)
}

// withParts marks ctx for vectorClient to send r's bytes vectored.
func withParts(ctx context.Context, r *partsReader) context.Context {
	return context.WithValue(ctx, partsKey{}, r)
}

// sendBody is one attempt's body: the parts reader until closed.
type sendBody struct {
	mu     sync.Mutex
	r      *partsReader
	closed bool
}

func (b *sendBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.EOF
	}
	return b.r.Read(p)
}

// take returns up to n of the body's next bytes as slices of the parts.
func (b *sendBody) take(n int) net.Buffers {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	return b.r.take(n)
}

func (b *sendBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// vectorDial wraps dial's connections in vectorConn; plain says the
// transport speaks HTTP on them, not TLS.
func vectorDial(dial func(ctx context.Context, network, addr string) (net.Conn, error), plain bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		vc := vectorConn{Conn: c}
		if plain {
			vc.lowat = newRcvLowat(c)
		}
		return vc, nil
	}
}

// vectorConn writes a sendBody, which net/http copies to it through an
// io.LimitedReader of the request's length, with writev, and raises its
// receive low-water mark for long reads (lowat.go).
type vectorConn struct {
	net.Conn
	lowat *rcvLowat // nil over TLS
}

func (c vectorConn) Read(p []byte) (int, error) {
	if c.lowat != nil {
		c.lowat.expect(len(p))
	}
	return c.Conn.Read(p)
}

func (c vectorConn) ReadFrom(r io.Reader) (int64, error) {
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		return io.Copy(c.Conn, r)
	}
	body, ok := lr.R.(*sendBody)
	if !ok {
		return io.Copy(c.Conn, r)
	}
	var n int64
	for lr.N > 0 {
		bufs := body.take(int(min(lr.N, sendChunk)))
		if len(bufs) == 0 {
			break // closed, or short: net/http reports the short body
		}
		k, err := bufs.WriteTo(c.Conn)
		n += k
		lr.N -= k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
