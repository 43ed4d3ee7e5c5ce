package main

// Kafka's client properties files (--command-config, --producer.config,
// --consumer.config) in Java's .properties syntax, so that the files
// people already have for Kafka's tools work unchanged.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// loadProperties reads a properties file.
func loadProperties(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read properties file: %w", err)
	}
	props, err := parseProperties(string(b))
	if err != nil {
		return nil, fmt.Errorf("properties file %s: %w", path, err)
	}
	return props, nil
}

// parseProperties parses Java's properties syntax (java.util.Properties.load):
// key=value, key: value or key value; lines whose first non-blank character
// is # or ! are comments; a line ending in an odd number of backslashes
// continues on the next, whose leading blanks are dropped; \t, \n, \r, \f,
// \uXXXX and backslash-anything are escapes in keys and values. The file is
// read as UTF-8, where Java reads ISO-8859-1: a password with non-ASCII
// characters means what its author typed. Errors name a line, never a value,
// which may be a secret.
func parseProperties(text string) (map[string]string, error) {
	props := map[string]string{}
	for _, l := range logicalLines(text) {
		key, value := splitProperty(l.text)
		k, err := unescapeProperty(key)
		if err != nil {
			return nil, fmt.Errorf("line %d: key: %w", l.number, err)
		}
		v, err := unescapeProperty(value)
		if err != nil {
			return nil, fmt.Errorf("line %d: value of %s: %w", l.number, k, err)
		}
		props[k] = v
	}
	return props, nil
}

// logicalLine is a property's text with its continuations joined, and the
// number of the line it starts on.
type logicalLine struct {
	text   string
	number int
}

const propertyBlanks = " \t\f"

func logicalLines(text string) []logicalLine {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	var (
		out        []logicalLine
		cur        strings.Builder
		start      int
		continuing bool
	)
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimLeft(line, propertyBlanks)
		if !continuing {
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			start = i + 1
		}
		continuing = endsInEscapedNewline(line)
		if continuing {
			line = line[:len(line)-1]
		}
		cur.WriteString(line)
		if !continuing {
			out = append(out, logicalLine{text: cur.String(), number: start})
			cur.Reset()
		}
	}
	if continuing {
		out = append(out, logicalLine{text: cur.String(), number: start})
	}
	return out
}

// endsInEscapedNewline reports whether line ends in an odd number of
// backslashes: the last one escapes the line break.
func endsInEscapedNewline(line string) bool {
	n := len(line) - len(strings.TrimRight(line, `\`))
	return n%2 == 1
}

// splitProperty splits a logical line at the first unescaped =, : or
// blank; blanks around the separator belong to neither side.
func splitProperty(line string) (key, value string) {
	i := 0
	for i < len(line) && !strings.ContainsRune("=:"+propertyBlanks, rune(line[i])) {
		if line[i] == '\\' {
			i++
		}
		i++
	}
	i = min(i, len(line))
	key, rest := line[:i], strings.TrimLeft(line[i:], propertyBlanks)
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], propertyBlanks)
	}
	return key, rest
}

// unescapeProperty undoes Java's escapes in a key or value.
func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch c := s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, err := strconv.ParseUint(s[i+1:min(i+5, len(s))], 16, 32)
			if err != nil || i+5 > len(s) {
				return "", fmt.Errorf(`malformed \uxxxx escape`)
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
