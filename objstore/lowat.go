package objstore

import (
	"net"
	"syscall"
)

// Receive low-water marks. A GET's body arrives in the pieces the server
// writes, and a reader that waits for bytes is woken for each: the gateway
// read cold objects from MinIO 215 KB per read(2) on average, and on the
// VMs we measure on a thread's wake-up costs about what copying 50 KiB
// does (14 µs). net/http reads a body straight into the caller's buffer when
// the read is larger than its own 4 KiB buffer, and then never asks for
// more than the body's framing (Content-Length, or the chunk's size)
// still promises. Such a read can tell the socket not to report readable
// before that many bytes (up to lowatMax) have arrived: one wake-up per
// MiB. Every other read (the 4 KiB header buffer, short bodies) puts the
// mark back at one byte first, so a read never waits for bytes the server
// will not send. Over TLS the reads are the TLS layer's, which promise
// nothing, so the mark is left alone.
//
// Cold fetch (BenchmarkColdFetchThroughput, medians of 5 runs): the
// gateway's reads grew to 338 KB and its CPU per GB fell from 0.96 to 0.85
// with kgo consumers and from 0.92 to 0.74 undecoded; a raw client's GETs
// fell from 0.44 to 0.27.
const (
	// Above the transport's read buffer (s3.go), which net/http fills
	// with whatever comes.
	lowatMin = 64 << 10
	lowatMax = 1 << 20
)

// rcvLowat is a connection's SO_RCVLOWAT, set only when a read needs
// another; net/http reads a connection from one goroutine at a time.
type rcvLowat struct {
	raw syscall.RawConn
	cur int
}

// newRcvLowat is c's mark, or nil if c is not a socket.
func newRcvLowat(c net.Conn) *rcvLowat {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &rcvLowat{raw: raw, cur: 1}
}

// expect readies the socket for a read of n bytes, all of which the
// server has promised when n is at least lowatMin.
func (l *rcvLowat) expect(n int) {
	want := 1
	if n >= lowatMin {
		want = min(n, lowatMax)
	}
	if want == l.cur {
		return
	}
	// cur follows the socket: a mark that failed to rise leaves reads
	// woken early, and one that failed to fall is tried again before the
	// next read rather than believed.
	var err error
	if l.raw.Control(func(fd uintptr) { err = setRcvLowat(fd, want) }) == nil && err == nil {
		l.cur = want
	}
}
