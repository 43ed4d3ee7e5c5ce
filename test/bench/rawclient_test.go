package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/caudal/caudal/test/testenv"
)

// rawS3 is the cheapest S3 client the baselines can have, so that a
// gateway's CPU per GB is compared with the floor of moving the same bytes:
// one HTTP request per object, signed over its headers only (SigV4 with
// UNSIGNED-PAYLOAD: no SHA-256 of the body), no Content-MD5 and no
// checksum header, the body written from the caller's buffer in one
// write(2) (net/http would copy it through 32 KiB chunks; see oneWriteConn)
// and read into one, woken once per MiB of it (see lowatConn). Nothing
// else an SDK does (middleware, retries, body wrappers).
type rawS3 struct {
	http     *http.Client
	base     string // endpoint/bucket/prefix
	signer   *v4.Signer
	creds    aws.Credentials
	region   string
	unsigned string
}

// newRawS3 is a raw client for the s3:// bucket URL of testenv's MinIO,
// with root credentials.
func newRawS3(b *testing.B, bucketURL string) *rawS3 {
	b.Helper()
	u, err := url.Parse(bucketURL)
	if err != nil {
		b.Fatal(err)
	}
	base := strings.TrimSuffix(u.Query().Get("endpoint"), "/") + "/" + u.Host
	if prefix := strings.Trim(u.Path, "/"); prefix != "" {
		base += "/" + prefix
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16 // one kept connection per concurrent request
	t.DisableCompression = true
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return oneWriteConn{newLowatConn(c)}, nil
	}
	return &rawS3{
		http:     &http.Client{Transport: t},
		base:     base,
		signer:   v4.NewSigner(),
		creds:    aws.Credentials{AccessKeyID: testenv.MinIOUser, SecretAccessKey: testenv.MinIOPassword},
		region:   testenv.MinIORegion,
		unsigned: "UNSIGNED-PAYLOAD",
	}
}

// oneWriteConn writes a request body that is a whole bytes.Reader, which
// net/http copies to it through an io.LimitedReader of its length, with
// one write: the cheapest way to send it, as the gateway's vectored PUTs
// do.
type oneWriteConn struct{ net.Conn }

func (c oneWriteConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if br, ok := lr.R.(*bytes.Reader); ok && int64(br.Len()) == lr.N {
			n, err := br.WriteTo(c.Conn)
			lr.N -= n
			return n, err
		}
	}
	return io.Copy(c.Conn, r)
}

// lowatConn raises its socket's receive low-water mark to the length of
// each read of at least 64 KiB (up to 1 MiB), as the gateway's S3
// connections do (objstore/lowat.go): the raw client's GETs cost a third
// less CPU per GB on these VMs (0.44 to 0.27, medians of 5 runs). Its
// reads must not ask for more than the peer will send.
type lowatConn struct {
	net.Conn
	raw  syscall.RawConn
	mark *int
}

func newLowatConn(c net.Conn) net.Conn {
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return c
	}
	return lowatConn{c, raw, new(int)}
}

func (c lowatConn) Read(p []byte) (int, error) {
	want := 1
	if len(p) >= 64<<10 {
		want = min(len(p), 1<<20)
	}
	if want != *c.mark {
		var err error
		if c.raw.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, want) }) == nil && err == nil {
			*c.mark = want // only a mark the socket took
		}
	}
	return c.Conn.Read(p)
}

// close closes the client's idle connections.
func (c *rawS3) close() { c.http.CloseIdleConnections() }

// do signs req without its payload and sends it.
func (c *rawS3) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("X-Amz-Content-Sha256", c.unsigned)
	if err := c.signer.SignHTTP(req.Context(), c.creds, req, c.unsigned, "s3", c.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, msg)
	}
	return resp, nil
}

// put stores data under key.
func (c *rawS3) put(ctx context.Context, key string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+"/"+key, bytes.NewReader(data))
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// get reads the object at key into buf, growing it only if the object does
// not fit, and returns the object's bytes.
func (c *rawS3) get(ctx context.Context, key string, buf []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/"+key, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if n := int(resp.ContentLength); n > cap(buf) {
		buf = make([]byte, n)
	}
	data := buf[:resp.ContentLength]
	if _, err := io.ReadFull(resp.Body, data); err != nil {
		return nil, fmt.Errorf("GET %s: %w", key, err)
	}
	return data, nil
}
