package main

// recordFormat prints a record as Kafka's DefaultMessageFormatter does.

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

type recordFormat struct {
	timestamp, partition, offset, key, value bool
	keySep, lineSep, null                    string
}

func newRecordFormat(props []string) (recordFormat, error) {
	f := recordFormat{value: true, keySep: "\t", lineSep: "\n", null: "null"}
	m, err := keyValueMap(props)
	if err != nil {
		return f, err
	}
	bools := map[string]*bool{"print.timestamp": &f.timestamp, "print.partition": &f.partition,
		"print.offset": &f.offset, "print.key": &f.key, "print.value": &f.value}
	strs := map[string]*string{"key.separator": &f.keySep, "line.separator": &f.lineSep, "null.literal": &f.null}
	for k, v := range m {
		if b, ok := bools[k]; ok {
			*b = strings.EqualFold(strings.TrimSpace(v), "true")
		} else if s, ok := strs[k]; ok {
			*s = unescape(v)
		} else {
			warnUnknownConfig(k)
		}
	}
	return f, nil
}

// unescape turns \t, \n and the like typed on a command line into the characters.
func unescape(s string) string {
	if u, err := strconv.Unquote(`"` + s + `"`); err == nil {
		return u
	}
	return s
}

func (f recordFormat) write(w io.Writer, r *kgo.Record) {
	var parts []string
	if f.timestamp {
		parts = append(parts, fmt.Sprintf("CreateTime:%d", r.Timestamp.UnixMilli()))
	}
	if f.partition {
		parts = append(parts, fmt.Sprintf("Partition:%d", r.Partition))
	}
	if f.offset {
		parts = append(parts, fmt.Sprintf("Offset:%d", r.Offset))
	}
	if f.key {
		parts = append(parts, f.bytes(r.Key))
	}
	if f.value {
		parts = append(parts, f.bytes(r.Value))
	}
	io.WriteString(w, strings.Join(parts, f.keySep)+f.lineSep)
}

func (f recordFormat) bytes(b []byte) string {
	if b == nil {
		return f.null
	}
	return string(b)
}
