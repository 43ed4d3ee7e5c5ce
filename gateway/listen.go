package gateway

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Serve accepts Kafka connections on ln until Close. Running out of file
// descriptors, or another passing accept error, pauses accepting (5 ms,
// doubling up to 1 s, as net/http does) while open connections go on
// being served; only a closed listener ends Serve.
func (g *Gateway) Serve(ln net.Listener) error {
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
				newConn(g, nc).serve()
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
