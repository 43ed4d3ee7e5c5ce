package soak

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// id names one produced record: its producer and sequence number, which
// the record's value carries.
type id struct {
	producer string
	seq      int64
}

func (i id) String() string { return fmt.Sprintf("%s#%d", i.producer, i.seq) }

// padding gives the objects some bytes to merge (the same as soak.py's).
var padding = strings.Repeat("x", 150)

// encodeValue is a record's value: "producer seq unixnano padding". The
// production time shows when an ack or a read got past a fault.
func encodeValue(producer string, seq int64, at time.Time) []byte {
	return fmt.Appendf(nil, "%s %d %d %s", producer, seq, at.UnixNano(), padding)
}

// parseHead reads a value, or the head of one that soak.py printed.
func parseHead(v string) (id, time.Time, error) {
	f := strings.SplitN(v, " ", 4)
	if len(f) < 3 {
		return id{}, time.Time{}, fmt.Errorf("value %.40q is not the soak's", v)
	}
	seq, err1 := strconv.ParseInt(f[1], 10, 64)
	ns, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return id{}, time.Time{}, fmt.Errorf("value %.40q is not the soak's", v)
	}
	return id{f[0], seq}, time.Unix(0, ns), nil
}

// pos is where a record is stored.
type pos struct {
	partition int32
	offset    int64
}

func (p pos) String() string { return fmt.Sprintf("p%d@%d", p.partition, p.offset) }

// read is one delivery of a record to a consumer.
type read struct {
	pos
	rec id
}

// incident is an error a client reported, charged to the phase it was
// reported in: a client gives up on an error it does not retry when the
// error comes, during the fault. (A delivery timeout, librdkafka's
// message.timeout.ms of 5 minutes, would land in a later cycle; its text
// says so.) rec is the record of a failed delivery.
type incident struct {
	phase  int // index in ledger.phases
	client string
	text   string
	rec    id
}

// ledger collects what every client did, as it happens.
type ledger struct {
	mu          sync.Mutex
	phases      []string // the warm-up, each cycle's fault kind, the drain
	acks        map[id]pos
	failures    []incident // deliveries given up on
	clientErrs  []incident // other errors the clients reported
	undelivered map[string]int64
	reads       map[string][]read // consumer → deliveries
	garbled     []string          // values that are not the soak's
	// newest[client] is the production time of the newest record the
	// client got an ack for (producers) or read (consumers).
	newest map[string]time.Time
}

func newLedger(producers, consumers []string) *ledger {
	l := &ledger{
		acks:        map[id]pos{},
		undelivered: map[string]int64{},
		reads:       map[string][]read{},
		newest:      map[string]time.Time{},
	}
	for _, c := range append(append([]string{}, producers...), consumers...) {
		l.newest[c] = time.Time{}
	}
	return l
}

// begin starts a phase and returns its index; what the clients report is
// charged to the current phase.
func (l *ledger) begin(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phases = append(l.phases, name)
	return len(l.phases) - 1
}

func (l *ledger) ack(p pos, head string) {
	rec, at, err := parseHead(head)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.garbled = append(l.garbled, head)
		return
	}
	l.acks[rec] = p
	l.advance(rec.producer, at)
}

func (l *ledger) fail(head, text string) {
	rec, _, err := parseHead(head)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.garbled = append(l.garbled, head)
		return
	}
	l.failures = append(l.failures, incident{len(l.phases) - 1, rec.producer, text, rec})
}

// clientError records an error a client reported that is not a failed
// delivery (a consumer's fetch or commit error, librdkafka's error_cb).
func (l *ledger) clientError(client, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clientErrs = append(l.clientErrs, incident{phase: len(l.phases) - 1, client: client, text: text})
}

func (l *ledger) leftUndelivered(producer string, n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.undelivered[producer] += n
}

func (l *ledger) read(consumer string, p pos, head string) {
	rec, at, err := parseHead(head)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.garbled = append(l.garbled, head)
		return
	}
	l.reads[consumer] = append(l.reads[consumer], read{p, rec})
	l.advance(consumer, at)
}

func (l *ledger) advance(client string, producedAt time.Time) {
	if producedAt.After(l.newest[client]) {
		l.newest[client] = producedAt
	}
}

// behind lists the clients that have not yet had an ack for, or read, a
// record produced after since: the ones that have not got past a fault.
func (l *ledger) behind(since time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for c, at := range l.newest {
		if !at.After(since) {
			names = append(names, c)
		}
	}
	return names
}

// failedIn counts the deliveries given up on in a phase.
func (l *ledger) failedIn(phase int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, f := range l.failures {
		if f.phase == phase {
			n++
		}
	}
	return n
}

// unread counts acked records that no consumer of the group has read.
func (l *ledger) unread() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[id]bool{}
	for _, rs := range l.reads {
		for _, r := range rs {
			seen[r.rec] = true
		}
	}
	n := 0
	for rec := range l.acks {
		if !seen[rec] {
			n++
		}
	}
	return n
}
