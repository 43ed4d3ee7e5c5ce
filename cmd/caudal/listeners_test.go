package main

import (
	"crypto/tls"
	"reflect"
	"testing"

	"github.com/caudal/caudal/test/testenv"

	"github.com/caudal/caudal/gateway"
)

func TestParseListenerList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []listenerAddr
		bad  bool
	}{
		{"PLAINTEXT://127.0.0.1:9092", []listenerAddr{{"PLAINTEXT", "127.0.0.1:9092"}}, false},
		{"plaintext://:9092, SASL_SSL://0.0.0.0:9093", []listenerAddr{{"PLAINTEXT", ":9092"}, {"SASL_SSL", "0.0.0.0:9093"}}, false},
		{"INTERNAL://[::1]:9094", []listenerAddr{{"INTERNAL", "[::1]:9094"}}, false},
		{"", nil, false},
		{"127.0.0.1:9092", nil, true},
		{"PLAINTEXT://127.0.0.1", nil, true},
		{"PLAINTEXT://:1,PLAINTEXT://:2", nil, true},
	} {
		got, err := parseListenerList(tc.in, "--listeners")
		if (err != nil) != tc.bad || !tc.bad && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseListenerList(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseProtocolMap(t *testing.T) {
	got, err := parseProtocolMap("internal:PLAINTEXT, EXTERNAL:sasl_ssl")
	want := map[string]gateway.Protocol{"INTERNAL": gateway.Plaintext, "EXTERNAL": gateway.SASLSSL}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseProtocolMap = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"INTERNAL", "INTERNAL:TLS"} {
		if _, err := parseProtocolMap(bad); err == nil {
			t.Errorf("parseProtocolMap(%q) accepted", bad)
		}
	}
}

// --ssl-client-auth asks SSL listeners for certificates and leaves SASL_SSL
// ones alone, as Kafka does since KIP-684.
func TestClientAuthOnlyOnSSL(t *testing.T) {
	ca := testenv.NewCA(t)
	cert, key := ca.Issue(t, "127.0.0.1")
	f := listenerFlags{
		listeners:  "SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
		certFile:   cert,
		keyFile:    key,
		truststore: ca.File,
		clientAuth: "required",
	}
	bound, err := f.bind("", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[gateway.Protocol]tls.ClientAuthType{gateway.SSL: tls.RequireAndVerifyClientCert, gateway.SASLSSL: tls.NoClientCert}
	for _, b := range bound {
		b.ln.Close()
		if b.TLS.ClientAuth != want[b.Protocol] {
			t.Errorf("listener %s: client auth %v, want %v", b.Name, b.TLS.ClientAuth, want[b.Protocol])
		}
	}
	if len(bound) != 2 {
		t.Fatalf("bound %d listeners, want 2", len(bound))
	}
}
