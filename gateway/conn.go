package gateway

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/caudal/caudal/gateway/acl"
	"github.com/caudal/caudal/gateway/auth"
	"github.com/caudal/caudal/gateway/quota"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// maxIdle is Kafka's connections.max.idle.ms default: a client may be
// silent this long between requests.
const maxIdle = 10 * time.Minute

// defaultBodyTimeout bounds how long one request's body may take to arrive,
// counted from its size header: a slow sender cannot extend it, so it
// cannot hold the bytes it sent (and its share of queued request bytes)
// for longer. Clients send requests of a few MiB at most; 100 MiB, the
// largest frame, needs 3.4 MB/s to make it.
const defaultBodyTimeout = 30 * time.Second

// defaultWriteTimeout bounds each write of a response: a client that stops
// reading is dropped instead of holding its responses' buffers.
const defaultWriteTimeout = 30 * time.Second

// A request body's buffer holds at most bodyGrowth times the bytes of it
// that have arrived (read, buffered, or waiting in the kernel: unread), or
// minChunk, rounded up to a class of bodypool.go's, so that a claimed size
// is never allocated before its bytes come. It grows as they come, and
// each growth copies the body: growing by doubling from 4 KiB was 29% of
// the gateway's produce CPU (BenchmarkProduceThroughput's profile), while
// a lying client holds at most 8 times what it sent (10 with the class).
const (
	minChunk   = 4 << 10
	bodyGrowth = 8
)

// smallFrame is the largest request body not charged to the gateway's
// budget of queued request bytes: metadata, fetch, commit and small
// produce requests go on while large bodies wait for budget. Their memory
// is bounded by the number of connections, like each connection's read
// buffer.
const smallFrame = 64 << 10

// maxPipelined bounds the requests a connection may have in flight; past
// it the read loop stops reading, which pushes back on the client.
const maxPipelined = 64

// conn serves one client connection. Requests are handled in the read
// loop, one at a time as Kafka does, except that a produce request only
// enqueues its batches there and waits for the flush elsewhere, so one
// connection can have many produce requests in flight. Responses are
// written strictly in request order. A second goroutine reads frames, one
// ahead of the handler, so that a client that goes away is noticed while
// its request waits (a JoinGroup, a long poll): the connection's context
// ends then.
type conn struct {
	g        *Gateway
	nc       net.Conn
	out      chan *reply
	ctx      context.Context
	cancel   context.CancelFunc
	clientID string
	rack     string // from the last Fetch (v11+); see brokers.go
	// listener is the one the client came in by; principal is who it is
	// ("User:ANONYMOUS" until it authenticates, or as its certificate
	// says); authenticated is false on a SASL listener until SASL ends.
	listener      Listener
	principal     string
	authenticated bool
	// sasl is the exchange under way, after SaslHandshake; authExpiry
	// ends the authentication's lifetime (sasl.go).
	sasl          auth.Session
	saslMechanism string
	authExpiry    time.Time
	// rawSASL: after SaslHandshake v0, the client's frames are SASL
	// tokens without a request header until the exchange ends.
	rawSASL bool
	// closing, set by a handler, ends the connection once its reply is
	// written.
	closing *errCloseAfterReply
	// acls caches authorization decisions for principal (authorize.go);
	// nil until the first check, and again whenever principal changes.
	acls *acl.Checker
	// release recycles the buffers the response being built refers to,
	// once it is written (gateway/reader). Set by handlers in the read loop.
	release func()
	// joined is the transaction (transaction version 2) this connection's
	// produces last added partitions to (produce.go).
	joined *joinedTxn
}

// reply is a response that may not be ready yet. resp == nil after done
// means no response is sent (acks=0).
type reply struct {
	start   time.Time
	corr    int32
	key     int16
	done    chan struct{}
	resp    kmsg.Response
	header  bool   // flexible response header
	release func() // see conn.release
	// raw, when not nil, is sent as it is in place of a response: a SASL
	// token of SaslHandshake v0's exchange (sasl.go).
	raw []byte
	// held is the request's body bytes, given back to the gateway's
	// budget once the response is written: a produce request's batches
	// live in its body until they are committed.
	held int64
	// bodyFree, set by a handler, says that nothing refers to the
	// request's body once done is closed: a produce's batches are copied
	// into their object before it is acknowledged. body is then that
	// body, which the write loop recycles (bodypool.go).
	bodyFree bool
	body     []byte
	// throttle is how long a client over its byte-rate quota waits
	// (applyQuota); the response carries it as throttle_time_ms.
	throttle time.Duration
}

// requestFrame is one request's body and the budget bytes it holds.
type requestFrame struct {
	body []byte
	held int64
}

// anonymous is the principal of a client that has not authenticated.
const anonymous = "User:ANONYMOUS"

func newConn(g *Gateway, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{g: g, nc: nc, out: make(chan *reply, maxPipelined), ctx: ctx, cancel: cancel,
		listener: Listener{Name: defaultListener, Protocol: Plaintext}, principal: anonymous, authenticated: true}
}

func (c *conn) serve() {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	frames := make(chan requestFrame)
	var readErr error
	go func() {
		defer close(frames)
		readErr = c.readFrames(frames)
		// The client is gone or broke the protocol: whatever waits on
		// its behalf can stop.
		c.cancel()
	}()
	err := c.handleFrames(frames)
	var after *errCloseAfterReply
	if errors.As(err, &after) && after.delay >= 0 {
		// The reply explains the close (a refused authentication):
		// write it, wait, then close.
		close(c.out)
		<-writerDone
		time.Sleep(after.delay)
	}
	c.cancel()
	c.nc.Close()
	for f := range frames { // unblock the reader, give its frame back
		c.g.budget.give(f.held)
	}
	if err == nil {
		err = readErr
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
		c.g.log.Warn("closing kafka connection", "remote", c.nc.RemoteAddr().String(), "client", c.clientID,
			"principal", c.principal, "err", err)
	}
	if after == nil || after.delay < 0 {
		close(c.out)
		<-writerDone
	}
}

// closeAfterReply ends the connection once the reply being built is
// written and delay has passed; a negative delay closes it at once.
func (c *conn) closeAfterReply(delay time.Duration, reason error) {
	c.closing = &errCloseAfterReply{delay: delay, reason: reason}
}

// handleFrames serves requests in order until the frames end or one
// cannot be served.
func (c *conn) handleFrames(frames <-chan requestFrame) error {
	for f := range frames {
		handle := c.handle
		if c.rawSASL {
			handle = c.handleRawSASL
		}
		r, err := handle(f.body)
		if err != nil {
			c.g.budget.give(f.held)
			return err
		}
		r.held = f.held
		if r.bodyFree {
			r.body = f.body
		}
		c.applyQuota(r, len(f.body))
		select {
		case c.out <- r:
		case <-c.ctx.Done():
			// The reply is dropped unwritten: what it holds goes back now
			// (its body stays with the GC: a produce may still read it).
			c.g.budget.give(f.held)
			if r.release != nil {
				r.release()
			}
			return nil
		}
		if c.closing != nil {
			return c.closing
		}
		if !c.holdOff(r.throttle) {
			return nil
		}
	}
	return nil
}

// applyQuota counts a produce request's bytes, or a fetch response's
// record bytes, against the byte-rate quota the client's user and
// client-id resolve to (gateway/quota), as Kafka does. Over it, the reply
// is throttled, and a fetch is answered without its records, which are
// then not counted: the client reads them again after the throttle.
func (c *conn) applyQuota(r *reply, requestBytes int) {
	user := strings.TrimPrefix(c.principal, "User:")
	switch r.key {
	case kmsg.Produce.Int16():
		r.throttle = c.g.quotas.Record(quota.ProducerByteRate, user, c.clientID, requestBytes)
	case kmsg.Fetch.Int16():
		f, ok := r.resp.(*kmsg.FetchResponse)
		if !ok {
			return
		}
		n := 0
		for _, t := range f.Topics {
			for _, p := range t.Partitions {
				n += len(p.RecordBatches)
			}
		}
		if r.throttle = c.g.quotas.Record(quota.ConsumerByteRate, user, c.clientID, n); r.throttle > 0 {
			c.g.quotas.Unrecord(quota.ConsumerByteRate, user, c.clientID, n)
			for i := range f.Topics {
				for j := range f.Topics[i].Partitions {
					f.Topics[i].Partitions[j].RecordBatches = nil
				}
			}
		}
	}
}

// holdOff waits out a throttle before the next request is read, as Kafka
// mutes a throttled client's channel; false when the connection ends
// first.
func (c *conn) holdOff(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// connBufferSize sizes the connections' read and write buffers. They
// only gather small pieces (headers, small requests and responses):
// bodies and records at least this large bypass them. At 64 KiB, 2,000
// idle long polls held 235 MB of buffers (BenchmarkIdleConnections).
const connBufferSize = 8 << 10

// A connection holds a read or write buffer only while it has bytes in
// it: between requests it waits for the next frame's size unbuffered, and
// its replies go out through a buffer it gives back once they are
// flushed. Idle connections, long polls mostly, then hold none.
var (
	readBuffers  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, connBufferSize) }}
	writeBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, connBufferSize) }}
	// tinyReaders read a body that nothing follows in the socket: reads
	// of at least their 16 bytes bypass them, so the body is read
	// straight from the socket, and 2,000 long polls re-issued together
	// do not take 2,000 read buffers at once.
	tinyReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16) }}
)

// takeReader returns a reader for the frame of size bytes whose size was
// just read from the socket: a read buffer when more than the frame is
// already waiting there (pipelined requests), else a tiny one.
func takeReader(nc net.Conn, size int) *bufio.Reader {
	pool := &tinyReaders
	if unread(nc) > size {
		pool = &readBuffers
	}
	br := pool.Get().(*bufio.Reader)
	br.Reset(nc)
	return br
}

// giveReader returns br to the pool it came from.
func giveReader(br *bufio.Reader) {
	br.Reset(nil)
	if br.Size() == connBufferSize {
		readBuffers.Put(br)
	} else {
		tinyReaders.Put(br)
	}
}

// readFrames reads request frames and hands them over, one at a time.
func (c *conn) readFrames(frames chan<- requestFrame) error {
	var br *bufio.Reader // while it holds bytes not yet read
	defer func() {
		if br != nil {
			giveReader(br)
		}
	}()
	var sizeBuf [4]byte
	for {
		// Kafka's connections.max.idle.ms: a silent client is dropped.
		c.nc.SetReadDeadline(time.Now().Add(maxIdle))
		if br != nil && br.Buffered() == 0 {
			giveReader(br)
			br = nil
		}
		src := io.Reader(br)
		if br == nil {
			src = c.nc
		}
		if _, err := io.ReadFull(src, sizeBuf[:]); err != nil {
			return err
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if br == nil {
			br = takeReader(c.nc, int(size))
		}
		// Checked before anything is read or allocated. A frame too short
		// for a request header may still be a raw SASL token (sasl.go);
		// handle refuses it otherwise.
		if size < 0 || size > maxRequestBytes {
			return fmt.Errorf("request frame of %d bytes is outside [0, %d]", size, maxRequestBytes)
		}
		deadline := time.Now().Add(c.g.bodyTimeout)
		c.nc.SetReadDeadline(deadline)
		body, held, err := c.readBody(br, int(size), deadline)
		if err != nil {
			c.g.budget.give(held)
			return fmt.Errorf("read request frame of %d bytes: %w", size, err)
		}
		select {
		case frames <- requestFrame{body: body, held: held}:
		case <-c.ctx.Done():
			c.g.budget.give(held)
			return nil
		}
	}
}

// readBody reads a body of size bytes into a buffer that grows with the
// bytes that arrive, from the pools of bodypool.go. A body over smallFrame
// takes from the gateway's budget the bytes it reads before it reads them.
// It returns the bytes it holds of the budget, also on failure.
func (c *conn) readBody(br *bufio.Reader, size int, deadline time.Time) ([]byte, int64, error) {
	var body []byte
	held := int64(0)
	for len(body) < size {
		// Each round fills the buffer, or ends the body.
		capacity := bodyCap(c.bodyRoom(br, len(body), size))
		n := min(size, capacity) - len(body)
		if size > smallFrame {
			if err := c.g.budget.take(c.ctx, int64(n), deadline); err != nil {
				putBody(body)
				return nil, held, err
			}
			held += int64(n)
		}
		body = growBody(body, capacity)
		k, err := io.ReadFull(br, body[len(body):len(body)+n])
		body = body[:len(body)+k]
		if err != nil {
			putBody(body)
			return nil, held, err
		}
	}
	return body, held, nil
}

// bodyRoom is the room a body of size bytes, have of them read, may take
// now: bodyGrowth times the bytes that have arrived, asking the kernel how
// many wait there only when the others do not cover the body.
func (c *conn) bodyRoom(br *bufio.Reader, have, size int) int {
	arrived := have + br.Buffered()
	if size > minChunk && bodyGrowth*arrived < size {
		arrived += unread(c.nc)
	}
	return min(size, max(bodyGrowth*arrived, minChunk))
}

// growBody moves body into a buffer with room for n bytes and recycles
// the one it was in.
func growBody(body []byte, n int) []byte {
	grown := append(getBody(n), body...)
	putBody(body)
	return grown
}

// handle parses one request and starts serving it.
func (c *conn) handle(body []byte) (*reply, error) {
	start := time.Now()
	rd := kbin.Reader{Src: body}
	key, version, corr := rd.Int16(), rd.Int16(), rd.Int32()
	clientID := rd.NullableString()
	if !rd.Ok() {
		return nil, errors.New("truncated request header")
	}
	if clientID != nil {
		c.clientID = *clientID
	}
	if err := c.admit(key); err != nil {
		return nil, err
	}
	api, served := apis[key]
	if !served || version < api.min || version > api.max {
		return c.unserved(key, version, corr, rd)
	}
	req, err := parseRequest(key, version, rd)
	if err != nil {
		return nil, err
	}
	if api.async != nil {
		r := &reply{start: start, corr: corr, key: key, done: make(chan struct{}), header: req.IsFlexible()}
		api.async(c, req, r)
		return r, nil
	}
	resp := api.serve(c, req)
	r := c.ready(corr, key, resp)
	r.start = start
	r.release, c.release = c.release, nil
	return r, nil
}

// parseRequest reads the body of a request of key at version after its
// client id, rd's position.
func parseRequest(key, version int16, rd kbin.Reader) (kmsg.Request, error) {
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	if req.IsFlexible() {
		kmsg.SkipTags(&rd)
		if !rd.Ok() {
			return nil, errors.New("truncated request header tags")
		}
	}
	if err := req.ReadFrom(rd.Src); err != nil {
		return nil, fmt.Errorf("parse %s v%d: %w", kmsg.NameForKey(key), version, err)
	}
	return req, nil
}

// unserved answers a request of an API or version this gateway does not
// serve as a Kafka 4.x broker answers it, and logs it:
//
//   - ApiVersions, at any version: a v0 response with UNSUPPORTED_VERSION
//     and the versions served, which the client reads whatever version it
//     sent (KIP-511; Kafka's RequestContext.parseRequest reads it as v0 and
//     KafkaApis.handleApiVersionsRequest answers).
//   - A key Kafka 4.x does not know, or a version outside what its brokers
//     accept (KIP-896 dropped the oldest): SocketServer.parseRequestHeader
//     throws InvalidRequestException (from RequestHeader.parse, or
//     ApiVersionManager.isApiEnabled) and processChannelException closes
//     the connection without a response.
//   - A key and version Kafka 4.x accepts but caudal does not serve (Produce
//     v0–2, which Kafka 4.0 still parses to refuse, KAFKA-18659; newer
//     versions; APIs caudal lacks): Kafka answers, so caudal answers as
//     Kafka does for an API it has turned off (share groups, or KIP-848
//     groups without their rebalance protocol): the request's error
//     response with UNSUPPORTED_VERSION in every error code. One kmsg
//     cannot parse closes the connection, as a body Kafka cannot parse
//     does (RequestContext.parseRequest).
func (c *conn) unserved(key, version int16, corr int32, rd kbin.Reader) (*reply, error) {
	log := c.g.log.With("api_key", key, "api_version", version, "client", c.clientID)
	if key == kmsg.ApiVersions.Int16() {
		log.Info("unserved kafka request answered")
		return c.ready(corr, key, unsupportedAPIVersions()), nil
	}
	closed := fmt.Errorf("unserved request %s (key %d) version %d", kmsg.NameForKey(key), key, version)
	if !kafka4Accepts(key, version) {
		log.Warn("unserved kafka request closes the connection", "reason", "kafka 4 does not accept it")
		return nil, closed
	}
	if kind := kmsg.RequestForKey(key); kind == nil || version > kind.MaxVersion() {
		log.Warn("unserved kafka request closes the connection", "reason", "no kmsg form to parse and answer")
		return nil, closed
	}
	req, err := parseRequest(key, version, rd)
	if err != nil {
		log.Warn("unserved kafka request closes the connection", "reason", "unparsable")
		return nil, fmt.Errorf("%w: %w", closed, err)
	}
	resp := req.ResponseKind()
	budget := maxUnservedEcho
	if !echoError(reflect.ValueOf(resp).Elem(), reflect.ValueOf(req).Elem(), kerr.UnsupportedVersion.Code, &budget) {
		log.Warn("unserved kafka request closes the connection", "reason", "too many elements to answer")
		return nil, closed
	}
	log.Info("unserved kafka request answered", "error", kerr.UnsupportedVersion.Message)
	return c.ready(corr, key, resp), nil
}

// kafka4Floors are the lowest versions Kafka 4.x brokers accept where
// KIP-896 raised them above 0; kversion.V4_4_0 gives the highest.
var kafka4Floors = map[kmsg.Key]int16{
	kmsg.Fetch: 4, kmsg.ListOffsets: 1, kmsg.OffsetCommit: 2, kmsg.OffsetFetch: 1,
	kmsg.CreateTopics: 2, kmsg.DeleteTopics: 1, kmsg.OffsetForLeaderEpoch: 2,
	kmsg.WriteTxnMarkers: 1, kmsg.DescribeACLs: 1, kmsg.CreateACLs: 1, kmsg.DeleteACLs: 1,
	kmsg.DescribeConfigs: 1, kmsg.AlterReplicaLogDirs: 1, kmsg.DescribeLogDirs: 1,
	kmsg.CreateDelegationToken: 1, kmsg.RenewDelegationToken: 1, kmsg.ExpireDelegationToken: 1,
	kmsg.DescribeDelegationToken: 1, kmsg.ShareGroupHeartbeat: 1, kmsg.ShareGroupDescribe: 1,
	kmsg.ShareFetch: 1, kmsg.ShareAcknowledge: 1,
}

var kafka4 = kversion.V4_4_0()

// kafka4Accepts reports whether a Kafka 4.x broker parses key at version.
func kafka4Accepts(key, version int16) bool {
	max, ok := kafka4.LookupMaxKeyVersion(key)
	return ok && version >= kafka4Floors[kmsg.Key(key)] && version <= max
}

// maxUnservedEcho bounds the elements an unserved request's error
// response echoes, so that its size does not follow the request's counts.
const maxUnservedEcho = 10_000

// echoError fills dst, a response struct, from src, its request, as
// Kafka's getErrorResponse does: every ErrorCode is code; fields of the
// same name and type that say what was asked (names, ids, indexes) are
// copied; and an array of structs gets one element per element of the
// request's array of the same name, whose elements are structs or
// partition indexes. It reports false, leaving dst half filled, once more
// than *budget elements would be made.
func echoError(dst, src reflect.Value, code int16, budget *int) bool {
	field := func(name string) reflect.Value {
		if src.Kind() == reflect.Struct {
			return src.FieldByName(name)
		}
		if name == "Partition" {
			return src // an element of a []int32 of partitions
		}
		return reflect.Value{}
	}
	for i := range dst.NumField() {
		f, d := dst.Type().Field(i), dst.Field(i)
		if !f.IsExported() || f.Name == "Version" {
			continue
		}
		if f.Name == "ErrorCode" && d.Kind() == reflect.Int16 {
			d.SetInt(int64(code))
			continue
		}
		s := field(f.Name)
		switch {
		case !s.IsValid():
		case d.Kind() == reflect.Slice && s.Kind() == reflect.Slice && d.Type().Elem().Kind() == reflect.Struct &&
			(s.Type().Elem().Kind() == reflect.Struct || s.Type().Elem().Kind() == reflect.Int32):
			if *budget -= s.Len(); *budget < 0 {
				return false
			}
			out := reflect.MakeSlice(d.Type(), s.Len(), s.Len())
			for j := range s.Len() {
				if def, ok := out.Index(j).Addr().Interface().(interface{ Default() }); ok {
					def.Default()
				}
				if !echoError(out.Index(j), s.Index(j), code, budget) {
					return false
				}
			}
			d.Set(out)
		case s.Type() == d.Type() && d.Kind() != reflect.Slice && d.Kind() != reflect.Map && d.Kind() != reflect.Struct:
			d.Set(s)
		}
	}
	return true
}

func (c *conn) ready(corr int32, key int16, resp kmsg.Response) *reply {
	r := &reply{corr: corr, key: key, done: make(chan struct{}), resp: resp}
	if resp != nil {
		r.header = resp.IsFlexible()
	}
	close(r.done)
	return r
}

func (c *conn) writeLoop() {
	var bw *bufio.Writer // while it holds replies not yet flushed
	flush := func() {
		if bw == nil {
			return
		}
		if err := bw.Flush(); err != nil {
			c.fail()
		}
		bw.Reset(nil)
		writeBuffers.Put(bw)
		bw = nil
	}
	defer flush()
	w := deadlineWriter{c.nc, c.g.writeTimeout}
	var buf []byte
	for r := range c.out {
		select {
		case <-r.done:
		default:
			// r waits for a flush: send what is already written first,
			// or earlier answers would wait a whole flush cycle with it.
			flush()
			<-r.done
		}
		c.g.budget.give(r.held)
		putBody(r.body)
		if t, ok := r.resp.(kmsg.SetThrottleResponse); ok && r.throttle > 0 {
			t.SetThrottle(int32(min(r.throttle.Milliseconds(), math.MaxInt32)))
		}
		if !r.start.IsZero() {
			c.g.metrics.replied(r.key, r.start, r.resp)
		}
		if r.resp == nil && r.raw == nil {
			continue
		}
		if bw == nil {
			bw = writeBuffers.Get().(*bufio.Writer)
			bw.Reset(w)
		}
		var err error
		buf, err = writeResponse(bw, w, buf, r)
		if err != nil {
			c.fail()
			continue
		}
		// Flush when nothing else is ready, so pipelined responses share
		// a write.
		if len(c.out) == 0 {
			flush()
		}
	}
}

// deadlineWriter is the connection under the response writer: every
// write to the socket gets its own deadline, however the bufio.Writer
// splits or merges responses, so no write can block past the timeout.
type deadlineWriter struct {
	nc      net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.nc.Write(p)
}

// writeGroup is about the most a write of a spliced fetch response's
// pieces carries under one deadline (one piece may carry more).
const writeGroup = 1 << 20

// writePieces writes pieces with writev, a writeGroup at a time, each
// under its own deadline. Through the bufio.Writer, each cached row after
// a small piece was cut in two: up to 8 KiB copied into the buffer and
// written alone, then the rest. A cold fetch of 1 GiB made 10,798 writes
// that way, and about 3% of the gateway's CPU went to the copies; it
// makes 4,854 now.
func (w deadlineWriter) writePieces(pieces [][]byte) error {
	for len(pieces) > 0 {
		n, size := 0, 0
		for n < len(pieces) && size < writeGroup {
			size += len(pieces[n])
			n++
		}
		w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
		group := net.Buffers(pieces[:n])
		if _, err := group.WriteTo(w.nc); err != nil {
			return err
		}
		pieces = pieces[n:]
	}
	return nil
}

func (c *conn) fail() {
	c.cancel()
	c.nc.Close()
}

// maxKeptBuffer bounds the response buffer a connection keeps for reuse.
const maxKeptBuffer = 1 << 20

// writeResponse encodes r into buf, or around the records of a fetch
// (see fetchwrite.go), writes it to bw, or a spliced fetch's pieces
// after what bw holds straight to w, releases the buffers r's records
// were in, and returns buf to keep for the next response.
func writeResponse(bw *bufio.Writer, w deadlineWriter, buf []byte, r *reply) ([]byte, error) {
	if r.raw != nil {
		_, err := bw.Write(binary.BigEndian.AppendUint32(buf[:0], uint32(len(r.raw))))
		if err == nil {
			_, err = bw.Write(r.raw)
		}
		return buf, err
	}
	var pieces [][]byte
	if f, ok := r.resp.(*kmsg.FetchResponse); ok {
		buf, pieces = fetchPieces(buf, r, f)
	}
	if pieces == nil {
		if hint := sizeHint(r.resp); hint > cap(buf) {
			buf = make([]byte, 0, hint) // growing it would copy it again and again
		}
		buf = appendResponse(buf[:0], r)
		pieces = [][]byte{buf}
	}
	var err error
	if _, tcp := w.nc.(*net.TCPConn); tcp && len(pieces) > 1 {
		if err = bw.Flush(); err == nil {
			err = w.writePieces(pieces)
		}
	} else {
		// TLS would seal each small piece in a record of its own.
		for _, p := range pieces {
			if _, err = bw.Write(p); err != nil {
				break
			}
		}
	}
	if r.release != nil {
		r.release()
	}
	if cap(buf) > maxKeptBuffer {
		buf = nil // a large response that was not spliced; do not pin it
	}
	return buf, err
}

// sizeHint estimates a response's encoded size where it can be large: a
// fetch is its record bytes plus a little per partition.
func sizeHint(resp kmsg.Response) int {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return 0
	}
	n := 1024
	for _, t := range f.Topics {
		n += 64 + len(t.Topic)
		for _, p := range t.Partitions {
			n += 128 + len(p.RecordBatches)
		}
	}
	return n
}

func appendResponse(dst []byte, r *reply) []byte {
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(r.corr))
	// ApiVersions responses always use header v0 (KIP-511).
	if r.header && r.key != kmsg.ApiVersions.Int16() {
		dst = append(dst, 0)
	}
	dst = r.resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst, uint32(len(dst)-4))
	return dst
}
