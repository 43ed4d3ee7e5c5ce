package main

import (
	"maps"
	"strings"
	"testing"
)

func TestParseJAAS(t *testing.T) {
	for _, tc := range []struct {
		in      string
		module  string
		options map[string]string
	}{
		{`org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="secret";`,
			scramLoginModule, map[string]string{"username": "alice", "password": "secret"}},
		{`org.apache.kafka.common.security.plain.PlainLoginModule required username=alice password=s3cr3t-x_$ ;`,
			plainLoginModule, map[string]string{"username": "alice", "password": "s3cr3t-x_$"}},
		{"  org.apache.kafka.common.security.plain.PlainLoginModule  Required\n\tusername = \"a b\"\n\tpassword=\"x;y=z\" ;  ",
			plainLoginModule, map[string]string{"username": "a b", "password": "x;y=z"}},
		{`m optional password="q\"uo\\te\n";`, "m", map[string]string{"password": "q\"uo\\te\n"}},
		{`m sufficient /* a comment */ k="v"; // trailing`, "m", map[string]string{"k": "v"}},
		{`m requisite;`, "m", map[string]string{}},
		{`org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";`,
			oauthLoginModule, map[string]string{"unsecuredLoginStringClaim_sub": "admin"}},
	} {
		got, err := parseJAAS(tc.in)
		if err != nil || got.module != tc.module || !maps.Equal(got.options, tc.options) {
			t.Errorf("parseJAAS(%q) = %+v, %v; want %s %v", tc.in, got, err, tc.module, tc.options)
		}
	}
}

func TestParseJAASErrorsHideValues(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "no login module"},
		{`m required username="u" password="hunter2"`, "missing ';'"},
		{`m always username="u";`, "the flag one of required"},
		{`m required username="u" password=hunter2 extra;`, "options must be key=value (after option password)"},
		{`m required "hunter2";`, "options must be key=value (after the control flag)"},
		{`m required password="hunter2`, "no closing quote"},
		{`m required a=1; n required b=2;`, "more than one login module"},
		{`m required /* a=1;`, "unterminated /* comment"},
	} {
		_, err := parseJAAS(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("parseJAAS(%q) error %v; want one containing %q and no password", tc.in, err, tc.want)
		}
	}
}
