package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Serve accepts plaintext Kafka connections on ln until Close.
func (g *Gateway) Serve(ln net.Listener) error { return g.ServeListener(ln, defaultListener) }

// ServeListener accepts Kafka connections on ln for the listener named
// name (Config.Listeners) until Close. Running out of file descriptors, or
// another passing accept error, pauses accepting (5 ms, doubling up to
// 1 s, as net/http does) while open connections go on being served; only
// a closed listener ends it.
func (g *Gateway) ServeListener(ln net.Listener, name string) error {
	l, ok := g.listener(name)
	if !ok {
		return fmt.Errorf("no listener named %s", name)
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errors.New("gateway closed")
	}
	g.lns = append(g.lns, ln)
	g.mu.Unlock()
	var pause time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if g.isClosed() {
				return nil
			}
			if !temporaryAcceptError(err) {
				return fmt.Errorf("accept kafka connection: %w", err)
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			g.log.Warn("accepting kafka connections paused", "err", err, "pause", pause)
			g.metrics.refused.WithLabelValues("accept_error").Inc()
			time.Sleep(pause)
			continue
		}
		pause = 0
		ip := remoteIP(nc)
		switch reason := g.track(nc, ip); reason {
		case "":
			go func() {
				defer g.untrack(nc, ip)
				if c := g.openConn(nc, l); c != nil {
					c.serve()
				}
			}()
		case "closed":
			nc.Close()
			return nil
		default:
			g.metrics.refused.WithLabelValues(reason).Inc()
			nc.Close()
		}
	}
}

// temporaryAcceptError reports the accept errors after which accepting
// later may work: timeouts, descriptor exhaustion and connections that
// died in the backlog.
func temporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (g *Gateway) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

func remoteIP(nc net.Conn) string {
	host, _, err := net.SplitHostPort(nc.RemoteAddr().String())
	if err != nil {
		return nc.RemoteAddr().String()
	}
	return host
}

// track admits a connection, or says why not: "closed", or the limit it
// would pass.
func (g *Gateway) track(nc net.Conn, ip string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return "closed"
	case len(g.conns) >= g.cfg.MaxConnections:
		return "max_connections"
	case g.cfg.MaxConnectionsPerIP > 0 && g.perIP[ip] >= g.cfg.MaxConnectionsPerIP:
		return "max_connections_per_ip"
	}
	g.conns[nc] = struct{}{}
	g.perIP[ip]++
	g.metrics.connections.Set(float64(len(g.conns)))
	g.connWG.Add(1)
	return ""
}

func (g *Gateway) untrack(nc net.Conn, ip string) {
	g.mu.Lock()
	delete(g.conns, nc)
	if g.perIP[ip]--; g.perIP[ip] <= 0 {
		delete(g.perIP, ip)
	}
	g.metrics.connections.Set(float64(len(g.conns)))
	g.mu.Unlock()
	g.connWG.Done()
}

// defaultMaxConnections leaves room under the file descriptor limit for
// what the gateway opens itself (the metadata store's pool, the bucket's
// connections, files), so that clients cannot starve it of descriptors.
func defaultMaxConnections() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<20 {
		return 1 << 20
	}
	if lim.Cur < 256 {
		return max(int(lim.Cur)/2, 1)
	}
	return int(lim.Cur) - 128
}

// handshakeTimeout bounds a TLS handshake, which a client could otherwise
// leave half done for as long as it likes.
const handshakeTimeout = 10 * time.Second

// openConn sets a connection up for its listener: the TLS handshake, and
// the principal a client certificate names. It returns nil, having closed
// the connection, when that fails.
func (g *Gateway) openConn(nc net.Conn, l Listener) *conn {
	principal := anonymous
	if l.Protocol.UsesTLS() {
		tc := tls.Server(nc, l.TLS)
		tc.SetDeadline(time.Now().Add(handshakeTimeout))
		if err := tc.Handshake(); err != nil {
			g.log.Warn("tls handshake failed", "remote", nc.RemoteAddr().String(), "listener", l.Name, "err", err)
			nc.Close()
			return nil
		}
		tc.SetDeadline(time.Time{})
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			// As Kafka's default principal builder: the subject's
			// distinguished name.
			principal = "User:" + certs[0].Subject.String()
		}
		nc = tc
	}
	c := newConn(g, nc)
	c.listener, c.principal = l, principal
	c.authenticated = !l.Protocol.UsesSASL()
	return c
}
