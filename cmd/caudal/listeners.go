package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/caudal/caudal/gateway"
)

// listenerFlags are Kafka's listener settings: listeners,
// advertised.listeners, listener.security.protocol.map and the ssl.*
// settings of the TLS listeners.
type listenerFlags struct {
	listeners, advertised, protocolMap string
	certFile, keyFile, truststore      string
	clientAuth                         string
}

func (f *listenerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listeners, "listeners", "", "Kafka listeners as `NAME://host:port,...` (e.g. PLAINTEXT://127.0.0.1:9092,SASL_SSL://:9093); empty: PLAINTEXT on --kafka-listen")
	fs.StringVar(&f.advertised, "advertised-listeners", "", "addresses given to clients per listener, `NAME://host:port,...` (default: each listener's own; PLAINTEXT's is --advertise)")
	fs.StringVar(&f.protocolMap, "listener-security-protocol-map", "", "security protocol of listeners not named after theirs, `NAME:PROTOCOL,...` (e.g. INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL)")
	fs.StringVar(&f.certFile, "ssl-certificate-location", "", "PEM certificate (chain) of SSL and SASL_SSL listeners; reloaded when it changes")
	fs.StringVar(&f.keyFile, "ssl-key-location", "", "PEM private key of SSL and SASL_SSL listeners")
	fs.StringVar(&f.truststore, "ssl-truststore-location", "", "PEM CA certificates that client certificates must chain to (mTLS)")
	fs.StringVar(&f.clientAuth, "ssl-client-auth", "none", "client certificates on SSL listeners: none, requested or required (Kafka's ssl.client.auth; SASL_SSL listeners never ask)")
}

// boundListener is a listener and its socket.
type boundListener struct {
	gateway.Listener
	ln net.Listener
}

// bind parses the listeners and opens their sockets. Without --listeners
// it is one PLAINTEXT listener on kafkaListen, advertised as advertise.
func (f *listenerFlags) bind(kafkaListen, advertise string, log *slog.Logger) ([]boundListener, error) {
	spec, adv := f.listeners, f.advertised
	if spec == "" {
		spec = "PLAINTEXT://" + kafkaListen
		if advertise != "" && adv == "" {
			adv = "PLAINTEXT://" + advertise
		}
	}
	binds, err := parseListenerList(spec, "--listeners")
	if err != nil {
		return nil, err
	}
	advs, err := parseListenerList(adv, "--advertised-listeners")
	if err != nil {
		return nil, err
	}
	protocols, err := parseProtocolMap(f.protocolMap)
	if err != nil {
		return nil, err
	}
	var out []boundListener
	fail := func(err error) ([]boundListener, error) {
		for _, b := range out {
			b.ln.Close()
		}
		return nil, err
	}
	for _, b := range binds {
		l := gateway.Listener{Name: b.name, Protocol: protocols[b.name]}
		if l.Protocol == "" {
			if l.Protocol, err = gateway.ParseProtocol(b.name); err != nil {
				return fail(fmt.Errorf("--listeners: listener %s: not a protocol's name, and not in --listener-security-protocol-map", b.name))
			}
		}
		if l.Protocol.UsesTLS() {
			if l.TLS, err = f.tlsConfig(l.Protocol, log); err != nil {
				return fail(fmt.Errorf("listener %s: %w", b.name, err))
			}
		}
		ln, err := net.Listen("tcp", b.addr)
		if err != nil {
			return fail(fmt.Errorf("listen on %s for listener %s: %w", b.addr, b.name, err))
		}
		l.Advertise = ln.Addr().String()
		for _, a := range advs {
			if a.name == b.name {
				l.Advertise = a.addr
			}
		}
		out = append(out, boundListener{Listener: l, ln: ln})
	}
	for _, a := range advs {
		if !hasListener(out, a.name) {
			return fail(fmt.Errorf("--advertised-listeners: %s is not among --listeners", a.name))
		}
	}
	return out, nil
}

func hasListener(ls []boundListener, name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
}

func (f *listenerFlags) tlsConfig(p gateway.Protocol, log *slog.Logger) (*tls.Config, error) {
	if f.certFile == "" || f.keyFile == "" {
		return nil, fmt.Errorf("a TLS listener needs --ssl-certificate-location and --ssl-key-location")
	}
	auth := map[string]tls.ClientAuthType{"none": tls.NoClientCert, "requested": tls.VerifyClientCertIfGiven, "required": tls.RequireAndVerifyClientCert}
	ca, ok := auth[f.clientAuth]
	if !ok {
		return nil, fmt.Errorf("--ssl-client-auth %q: want none, requested or required", f.clientAuth)
	}
	if p == gateway.SASLSSL {
		// As in Kafka since KIP-684, the broker-wide ssl.client.auth is
		// for SSL listeners: a SASL_SSL client proves who it is with
		// SASL and is not asked for a certificate as well.
		ca = tls.NoClientCert
	}
	return gateway.NewTLSConfig(gateway.TLSFiles{CertFile: f.certFile, KeyFile: f.keyFile, ClientCAFile: f.truststore, ClientAuth: ca}, log)
}

type listenerAddr struct{ name, addr string }

// parseListenerList reads Kafka's "NAME://host:port,..." lists.
func parseListenerList(s, flag string) ([]listenerAddr, error) {
	var out []listenerAddr
	seen := map[string]bool{}
	for _, part := range splitList(s, ",") {
		scheme, host, ok := strings.Cut(part, "://")
		if _, _, err := net.SplitHostPort(host); !ok || scheme == "" || err != nil {
			return nil, fmt.Errorf("%s: %q is not NAME://host:port", flag, part)
		}
		name := strings.ToUpper(scheme)
		if seen[name] {
			return nil, fmt.Errorf("%s: listener %s is named twice", flag, name)
		}
		seen[name] = true
		out = append(out, listenerAddr{name: name, addr: host})
	}
	return out, nil
}

// parseProtocolMap reads "NAME:PROTOCOL,...".
func parseProtocolMap(s string) (map[string]gateway.Protocol, error) {
	out := map[string]gateway.Protocol{}
	for _, part := range splitList(s, ",") {
		name, proto, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("--listener-security-protocol-map: %q is not NAME:PROTOCOL", part)
		}
		p, err := gateway.ParseProtocol(strings.ToUpper(strings.TrimSpace(proto)))
		if err != nil {
			return nil, fmt.Errorf("--listener-security-protocol-map: %w", err)
		}
		out[strings.ToUpper(strings.TrimSpace(name))] = p
	}
	return out, nil
}
