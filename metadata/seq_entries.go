package metadata

import (
	"encoding/json"
	"strconv"
	"strings"
)

// A producer row's batches column is JSON, [[base_seq, last_seq,
// base_offset], …]. A 1,000-partition idempotent commit reads and writes
// 1,000 of them, and encoding/json cost it a fifth of its CPU, so the form
// written here is encoded and parsed by hand. Anything else (whitespace, a
// row written by hand) still goes through encoding/json.

// encodeSeqEntries is json.Marshal(es), byte for byte.
func encodeSeqEntries(es []seqEntry) string {
	if es == nil {
		return "null"
	}
	b := make([]byte, 0, 2+len(es)*32)
	b = append(b, '[')
	for i, e := range es {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, v := range e {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, ']')
	}
	return string(append(b, ']'))
}

// decodeSeqEntries is json.Unmarshal into []seqEntry.
func decodeSeqEntries(s string) ([]seqEntry, error) {
	if es, ok := parseSeqEntries(s); ok {
		return es, nil
	}
	var es []seqEntry
	err := json.Unmarshal([]byte(s), &es)
	return es, err
}

// parseSeqEntries parses what encodeSeqEntries writes; ok is false for
// anything else.
func parseSeqEntries(s string) (es []seqEntry, ok bool) {
	if s == "null" {
		return nil, true
	}
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	s = s[1 : len(s)-1]
	es = []seqEntry{}
	for len(s) > 0 {
		if len(es) > 0 {
			if s[0] != ',' {
				return nil, false
			}
			s = s[1:]
		}
		var e seqEntry
		if s, ok = parseSeqEntry(s, &e); !ok {
			return nil, false
		}
		es = append(es, e)
	}
	return es, true
}

// parseSeqEntry parses one "[a,b,c]" at the start of s into e and returns
// the rest of s.
func parseSeqEntry(s string, e *seqEntry) (string, bool) {
	if len(s) == 0 || s[0] != '[' {
		return s, false
	}
	s = s[1:]
	for j := range e {
		end := 0
		for end < len(s) && (s[end] == '-' || s[end] >= '0' && s[end] <= '9') {
			end++
		}
		v, err := strconv.ParseInt(s[:end], 10, 64)
		if digits := strings.TrimPrefix(s[:end], "-"); err != nil || len(digits) > 1 && digits[0] == '0' {
			return s, false
		}
		e[j] = v
		want := byte(',')
		if j == len(e)-1 {
			want = ']'
		}
		if end >= len(s) || s[end] != want {
			return s, false
		}
		s = s[end+1:]
	}
	return s, true
}
