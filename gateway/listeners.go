package gateway

// Listeners, as in Kafka: each has a name (PLAINTEXT, SASL_SSL or one of
// the operator's, such as INTERNAL), a security protocol, and the address
// it advertises. Metadata gives a client the brokers' addresses on the
// listener the client came in by.

import (
	"crypto/tls"
	"fmt"
)

// Protocol is a listener's security protocol.
type Protocol string

// Kafka's security protocols.
const (
	Plaintext     Protocol = "PLAINTEXT"
	SSL           Protocol = "SSL"
	SASLPlaintext Protocol = "SASL_PLAINTEXT"
	SASLSSL       Protocol = "SASL_SSL"
)

// ParseProtocol reads a security protocol's name.
func ParseProtocol(s string) (Protocol, error) {
	switch p := Protocol(s); p {
	case Plaintext, SSL, SASLPlaintext, SASLSSL:
		return p, nil
	}
	return "", fmt.Errorf("unknown security protocol %q: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", s)
}

func (p Protocol) UsesTLS() bool  { return p == SSL || p == SASLSSL }
func (p Protocol) UsesSASL() bool { return p == SASLPlaintext || p == SASLSSL }

// Listener is one of the gateway's Kafka listeners.
type Listener struct {
	Name      string
	Protocol  Protocol
	Advertise string // host:port given to clients of this listener
	// TLS serves SSL and SASL_SSL; see NewTLSConfig.
	TLS *tls.Config
}

// defaultListener is what Serve serves: plaintext, advertised as
// Config.Advertise.
const defaultListener = "PLAINTEXT"

// listener returns the listener named name, or the plaintext default.
func (g *Gateway) listener(name string) (Listener, bool) {
	for _, l := range g.cfg.Listeners {
		if l.Name == name {
			return l, true
		}
	}
	if name == defaultListener {
		return Listener{Name: defaultListener, Protocol: Plaintext}, true
	}
	return Listener{}, false
}

// advertised is this gateway's address on listener l.
func (g *Gateway) advertised(l Listener) string {
	if l.Advertise != "" {
		return l.Advertise
	}
	return g.cfg.Advertise
}

// checkListeners refuses listeners that cannot be served.
func checkListeners(ls []Listener, mechanisms []string) error {
	seen := map[string]bool{}
	for _, l := range ls {
		if seen[l.Name] {
			return fmt.Errorf("listener %s is named twice", l.Name)
		}
		seen[l.Name] = true
		if _, err := ParseProtocol(string(l.Protocol)); err != nil {
			return fmt.Errorf("listener %s: %w", l.Name, err)
		}
		if l.Protocol.UsesTLS() && l.TLS == nil {
			return fmt.Errorf("listener %s is %s but has no certificate", l.Name, l.Protocol)
		}
		if l.Protocol.UsesSASL() && len(mechanisms) == 0 {
			return fmt.Errorf("listener %s is %s but no SASL mechanism is enabled", l.Name, l.Protocol)
		}
	}
	return nil
}

// listenerAddrs are the listeners' advertised addresses by name, as the
// registry keeps them for the other gateways.
func listenerAddrs(ls []Listener) map[string]string {
	out := make(map[string]string, len(ls))
	for _, l := range ls {
		out[l.Name] = l.Advertise
	}
	return out
}
