package objstore

import (
	"bytes"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestRcvLowatFollowsReads reads a long body and then a short reply on one
// connection: the long read raises the mark (to at most lowatMax), and the
// short one must lower it again first, or it would wait for bytes that
// never come.
func TestRcvLowatFollowsReads(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("caudal"), 300_000) // 1.8 MB: over lowatMax
	reply := []byte("short")
	sent := make(chan error, 1)
	c := dialServer(t, true, func(srv net.Conn) {
		// In pieces, as a server writes a body, each well under the mark.
		for rest := body; len(rest) > 0; rest = rest[min(len(rest), 16<<10):] {
			if _, err := srv.Write(rest[:min(len(rest), 16<<10)]); err != nil {
				sent <- err
				return
			}
		}
		time.Sleep(50 * time.Millisecond) // the reader waits, mark lowered
		_, err := srv.Write(reply)
		sent <- err
		io.Copy(io.Discard, srv) // until the reader closes
	})
	got := make([]byte, len(body))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("long read: %v (equal %v)", err, bytes.Equal(got, body))
	}
	if mark := socketLowat(t, c); mark <= 1 || mark > lowatMax {
		t.Errorf("after reads of %d bytes and less, the mark is %d; want it raised, at most %d", len(body), mark, lowatMax)
	}
	short := make([]byte, 4<<10) // net/http's header buffer
	n, err := c.Read(short)
	if err != nil || !bytes.Equal(short[:n], reply) {
		t.Fatalf("short read after a long one: %q, %v", short[:n], err)
	}
	if mark := socketLowat(t, c); mark != 1 {
		t.Errorf("after a short read the mark is %d, want 1", mark)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// TestRcvLowatOnlyOverPlainHTTP: over TLS the mark stays at one byte.
func TestRcvLowatOnlyOverPlainHTTP(t *testing.T) {
	t.Parallel()
	c := dialServer(t, false, func(srv net.Conn) { srv.Write(make([]byte, 256<<10)) })
	if _, err := io.ReadFull(c, make([]byte, 256<<10)); err != nil {
		t.Fatal(err)
	}
	if mark := socketLowat(t, c); mark != 1 {
		t.Errorf("mark %d on a connection for TLS, want 1", mark)
	}
}

// dialServer connects through vectorDial to a loopback server that runs
// serve on its end, then closes it; the connection closes with the test.
func dialServer(t *testing.T, plain bool, serve func(net.Conn)) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		if srv, err := ln.Accept(); err == nil {
			serve(srv)
			srv.Close()
		}
	}()
	c, err := vectorDial((&net.Dialer{}).DialContext, plain)(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c
}

func socketLowat(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(vectorConn).Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var mark int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		mark, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	return mark
}
