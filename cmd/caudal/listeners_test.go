package main

import (
	"reflect"
	"testing"

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
