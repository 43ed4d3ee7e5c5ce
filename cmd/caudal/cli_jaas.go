package main

// Kafka's sasl.jaas.config client property: one JAAS login module entry,
//
//	org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="secret";
//
// parsed as Kafka's JaasConfig reads it: the module's class, a control
// flag, options as key=value with values bare or in double quotes
// (backslash escapes inside), and a closing semicolon; // and /* */
// comments are blanks. Errors never quote a value: values hold passwords.

import (
	"errors"
	"fmt"
	"strings"
)

// jaasLogin is the login module a sasl.jaas.config names, and its options.
type jaasLogin struct {
	module  string
	options map[string]string
}

// The login modules of Kafka's client mechanisms.
const (
	plainLoginModule  = "org.apache.kafka.common.security.plain.PlainLoginModule"
	scramLoginModule  = "org.apache.kafka.common.security.scram.ScramLoginModule"
	oauthLoginModule  = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
	jaasControlFlags  = "required requisite sufficient optional"
	jaasConfigPropKey = "sasl.jaas.config"
)

func parseJAAS(s string) (jaasLogin, error) {
	toks, err := jaasTokens(s)
	if err != nil {
		return jaasLogin{}, fmt.Errorf("%s: %w", jaasConfigPropKey, err)
	}
	login, rest, err := jaasEntry(toks)
	if err != nil {
		return jaasLogin{}, fmt.Errorf("%s: %w", jaasConfigPropKey, err)
	}
	if len(rest) > 0 {
		return jaasLogin{}, fmt.Errorf("%s: more than one login module; a client takes exactly one", jaasConfigPropKey)
	}
	return login, nil
}

// jaasToken is a word, a quoted string, or one of = and ;.
type jaasToken struct {
	text   string
	quoted bool
}

func (t jaasToken) is(punct string) bool { return !t.quoted && t.text == punct }

// jaasEntry reads `module flag key=value ... ;` from toks.
func jaasEntry(toks []jaasToken) (jaasLogin, []jaasToken, error) {
	if len(toks) == 0 {
		return jaasLogin{}, nil, errors.New("no login module")
	}
	if len(toks) < 2 || toks[0].quoted || toks[1].quoted || !strings.Contains(" "+jaasControlFlags+" ", " "+strings.ToLower(toks[1].text)+" ") {
		return jaasLogin{}, nil, fmt.Errorf("want `LoginModuleClass required key=\"value\" ...;`, with the flag one of %s", strings.ReplaceAll(jaasControlFlags, " ", ", "))
	}
	login := jaasLogin{module: toks[0].text, options: map[string]string{}}
	toks = toks[2:]
	where := "after the control flag"
	for {
		switch {
		case len(toks) == 0:
			return jaasLogin{}, nil, errors.New("missing ';' at the end of the login module")
		case toks[0].is(";"):
			return login, toks[1:], nil
		case len(toks) < 3 || toks[0].quoted || !toks[1].is("=") || toks[2].is(";") || toks[2].is("="):
			// Not the token itself: a stray word may be half a password.
			return jaasLogin{}, nil, fmt.Errorf("options must be key=value (%s)", where)
		}
		login.options[toks[0].text] = toks[2].text
		where = "after option " + toks[0].text
		toks = toks[3:]
	}
}

// jaasTokens splits s into tokens, dropping blanks and comments.
func jaasTokens(s string) ([]jaasToken, error) {
	var toks []jaasToken
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case strings.HasPrefix(s[i:], "//"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s) - i
			}
			i += end
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, errors.New("unterminated /* comment")
			}
			i += end + 4
		case c == '=' || c == ';':
			toks = append(toks, jaasToken{text: string(c)})
			i++
		case c == '"':
			text, n, err := jaasQuoted(s[i+1:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, jaasToken{text: text, quoted: true})
			i += 1 + n
		default:
			end := i
			for end < len(s) && !strings.ContainsRune(" \t\n\r\f=;\"", rune(s[end])) {
				end++
			}
			toks = append(toks, jaasToken{text: s[i:end]})
			i = end
		}
	}
	return toks, nil
}

// jaasQuoted reads a quoted string's contents up to and including its
// closing quote, and returns them unescaped and the bytes it read.
func jaasQuoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			i++
			if i == len(s) {
				break
			}
			b.WriteByte(jaasEscape(s[i]))
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("a quoted value has no closing quote")
}

// jaasEscape is the character \c stands for in a quoted value.
func jaasEscape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	case 'f':
		return '\f'
	case 'b':
		return '\b'
	}
	return c
}
