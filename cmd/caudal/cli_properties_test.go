package main

import (
	"maps"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		{"equals", "a=1\nb = 2\n", map[string]string{"a": "1", "b": "2"}},
		{"colon and blank separators", "a: 1\nb 2\nc\t:\t3\n", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"comments and blank lines", "# one\n  ! two\n\n   \na=1\n", map[string]string{"a": "1"}},
		{"value keeps = and :", "url=file:///t?x=1\n", map[string]string{"url": "file:///t?x=1"}},
		{"trailing blanks kept", "a=1  \n", map[string]string{"a": "1  "}},
		{"empty value", "a=\nb\n", map[string]string{"a": "", "b": ""}},
		{"continuation drops the next line's indent", "a=one \\\n    two\\\n three\n", map[string]string{"a": "one twothree"}},
		{"even backslashes do not continue", "a=x\\\\\nb=y\n", map[string]string{"a": `x\`, "b": "y"}},
		{"continued line is not a comment", "a=1\\\n# not a comment\n", map[string]string{"a": "1# not a comment"}},
		{"comment does not continue", "# c \\\na=1\n", map[string]string{"a": "1"}},
		{"continuation at end of file", "a=1\\", map[string]string{"a": "1"}},
		{"escapes", `a=t\tn\nu\u0041\=\:\\x` + "\n", map[string]string{"a": "t\tn\nuA=:\\x"}},
		{"escaped separator in key", `my\ key\=x=v` + "\n", map[string]string{"my key=x": "v"}},
		{"CRLF and CR", "a=1\r\nb=2\rc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"later key wins", "a=1\na=2\n", map[string]string{"a": "2"}},
		{"JAAS line with quotes", `sasl.jaas.config=x required username="u" password="p";`,
			map[string]string{"sasl.jaas.config": `x required username="u" password="p";`}},
	} {
		got, err := parseProperties(tc.in)
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%s: parseProperties(%q) = %q, %v; want %q", tc.name, tc.in, got, err, tc.want)
		}
	}
}

func TestParsePropertiesBadEscapeNamesLineNotValue(t *testing.T) {
	_, err := parseProperties("a=1\n\nsecret=hunter2\\u12\n")
	if err == nil || !strings.Contains(err.Error(), "line 3") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("parseProperties with a bad \\u escape: %v", err)
	}
}
