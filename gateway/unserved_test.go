package gateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/segments/segmentstest"
)

// syncBuffer is a log sink tests read while the gateway writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// unservedEnv is a served test gateway whose log the test reads.
type unservedEnv struct {
	addr string
	log  *syncBuffer
}

func newUnservedEnv(t *testing.T) unservedEnv {
	logs := &syncBuffer{}
	g := newTestGatewayWith(t, Config{Logger: slog.New(slog.NewTextHandler(logs, nil))}, nil)
	return unservedEnv{addr: serveTestGateway(t, g), log: logs}
}

// send writes req (a kmsg request, framed with client id "fuzz") or raw
// frame bytes on a new connection, which it returns.
func (e unservedEnv) send(t *testing.T, frame []byte) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	return nc
}

// wantLogged waits for a log line naming the request.
func (e unservedEnv) wantLogged(t *testing.T, key, version int16, client string) {
	t.Helper()
	want := fmt.Sprintf("api_key=%d api_version=%d client=%s", key, version, client)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", want, e.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readResponse reads one response to a request of key at version from r.
func readResponse(t *testing.T, r io.Reader, key, version int16) kmsg.Response {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		t.Fatalf("no response to %s v%d: %v", kmsg.NameForKey(key), version, err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	resp := kmsg.ResponseForKey(key)
	resp.SetVersion(version)
	body = body[4:] // correlation id
	if resp.IsFlexible() && key != kmsg.ApiVersions.Int16() {
		body = body[1:] // no header tags
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("%s v%d response does not decode: %v", kmsg.NameForKey(key), version, err)
	}
	return resp
}

func framed(req kmsg.Request) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, req, 9)
}

// Requests Kafka 4.x cannot parse close the connection, as its
// SocketServer does, and are logged with their key, version and client.
func TestUnservedRequestsKafkaRefusesClose(t *testing.T) {
	e := newUnservedEnv(t)
	fetchV3 := kmsg.NewPtrFetchRequest()
	fetchV3.SetVersion(3) // KIP-896: Kafka 4.0 accepts Fetch v4+
	listOffsetsV0 := kmsg.NewPtrListOffsetsRequest()
	listOffsetsV0.SetVersion(0)
	for _, tc := range []struct {
		name         string
		frame        []byte
		key, version int16
		client       string
	}{
		{"unknown key", frame(append(header(1000, 0, 7), 0, 0)), 1000, 0, "host"},
		{"version past Kafka's", frame(append(header(0, 99, 7), make([]byte, 32)...)), 0, 99, "host"},
		{"Fetch v3", framed(fetchV3), 1, 3, "fuzz"},
		{"ListOffsets v0", framed(listOffsetsV0), 2, 0, "fuzz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectClosed(t, e.send(t, tc.frame))
			e.wantLogged(t, tc.key, tc.version, tc.client)
		})
	}
}

// A request Kafka 4.x parses and caudal does not serve is answered with
// UNSUPPORTED_VERSION in its error fields, the request's partitions
// echoed, and the connection goes on: Produce v0–2 (KAFKA-18659 keeps
// them parsed in Kafka 4.0 to refuse them) and every API caudal lacks.
func TestUnservedRequestsKafkaParsesAreAnswered(t *testing.T) {
	e := newUnservedEnv(t)
	for v := int16(0); v <= 2; v++ {
		pr := kmsg.NewPtrProduceRequest()
		pr.SetVersion(v)
		pr.Acks, pr.TimeoutMillis = -1, 1000
		pt := kmsg.NewProduceRequestTopic()
		pt.Topic = "fuzz"
		for p := range int32(2) {
			pp := kmsg.NewProduceRequestTopicPartition()
			pp.Partition, pp.Records = p, segmentstest.Batch("old")
			pt.Partitions = append(pt.Partitions, pp)
		}
		pr.Topics = append(pr.Topics, pt)
		nc := e.send(t, framed(pr))
		r := bufio.NewReader(nc)
		resp := readResponse(t, r, 0, v).(*kmsg.ProduceResponse)
		if len(resp.Topics) != 1 || resp.Topics[0].Topic != "fuzz" || len(resp.Topics[0].Partitions) != 2 {
			t.Fatalf("Produce v%d: answered %+v", v, resp.Topics)
		}
		for i, p := range resp.Topics[0].Partitions {
			if p.Partition != int32(i) || p.ErrorCode != kerr.UnsupportedVersion.Code {
				t.Errorf("Produce v%d partition %d: %+v, want UNSUPPORTED_VERSION", v, i, p)
			}
		}
		e.wantLogged(t, 0, v, "fuzz")
		// The connection still serves.
		av := kmsg.NewPtrApiVersionsRequest()
		if _, err := nc.Write(framed(av)); err != nil {
			t.Fatal(err)
		}
		readResponse(t, r, 18, 0)
	}

	lacking, refused := 0, 0
	kafka4.EachMaxKeyVersion(func(key, max int16) {
		if _, served := apis[key]; served {
			return
		}
		req := kmsg.RequestForKey(key)
		version := kafka4Floors[kmsg.Key(key)]
		if req == nil || version > req.MaxVersion() {
			return
		}
		lacking++
		req.SetVersion(version)
		resp := readResponse(t, e.send(t, framed(req)), key, version)
		// An error code a version does not carry reads back as 0.
		switch code := firstErrorCode(resp); code {
		case kerr.UnsupportedVersion.Code:
			refused++
		case 0:
		default:
			t.Errorf("%s v%d: %v, want UNSUPPORTED_VERSION", kmsg.NameForKey(key), version, kerr.ErrorForCode(code))
		}
		e.wantLogged(t, key, version, "fuzz")
	})
	if lacking == 0 || refused == 0 {
		t.Fatalf("%d unserved Kafka 4.x APIs checked, %d answered UNSUPPORTED_VERSION", lacking, refused)
	}
}

// ApiVersions at a version not served is answered in v0, and logged.
func TestUnservedAPIVersionsAnswered(t *testing.T) {
	e := newUnservedEnv(t)
	resp := readResponse(t, e.send(t, frame(append(header(18, 99, 42), 1, 2, 3))), 18, 0).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) == 0 {
		t.Errorf("ApiVersions v99: %v with %d keys", kerr.ErrorForCode(resp.ErrorCode), len(resp.ApiKeys))
	}
	e.wantLogged(t, 18, 99, "host")
}

// An unserved request whose error response would echo more elements than
// the bound closes the connection instead of growing an answer with it.
func TestUnservedEchoIsBounded(t *testing.T) {
	e := newUnservedEnv(t)
	pr := kmsg.NewPtrProduceRequest()
	pr.SetVersion(2)
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzz"
	pt.Partitions = make([]kmsg.ProduceRequestTopicPartition, maxUnservedEcho)
	pr.Topics = append(pr.Topics, pt)
	expectClosed(t, e.send(t, framed(pr)))
	e.wantLogged(t, 0, 2, "fuzz")
	if !strings.Contains(e.log.String(), "too many elements") {
		t.Errorf("the close is not explained in the log:\n%s", e.log.String())
	}
}
