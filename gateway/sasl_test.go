package gateway

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/objstore/objstoretest"

	"github.com/caudal/caudal/gateway/auth"
	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// saslGateway serves one SASL_PLAINTEXT listener with every mechanism,
// OAUTHBEARER's unsecured validator on, and user alice (password
// "alice-secret") for both SCRAM mechanisms.
func saslGateway(t *testing.T, reauth time.Duration) string {
	t.Helper()
	ctx := context.Background()
	bucket := objstoretest.OpenFile(t)
	store := metadatatest.OpenSQLite(t, metadata.Options{})
	for _, mech := range []string{auth.MechanismScramSHA256, auth.MechanismScramSHA512} {
		cred, err := auth.NewScramCredential("alice", mech, "alice-secret", 4096)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.PutScramCredential(ctx, cred); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	g, err := New(Config{
		Advertise:     addr,
		FlushInterval: 5 * time.Millisecond,
		Listeners:     []Listener{{Name: "SASL_PLAINTEXT", Protocol: SASLPlaintext, Advertise: addr}},
		SASL: SASLConfig{
			Mechanisms: []string{auth.MechanismScramSHA512, auth.MechanismScramSHA256, auth.MechanismPlain, auth.MechanismOAuthBearer},
			OAuth:      auth.OAuthConfig{Unsecured: true},
			ReauthMax:  reauth,
		},
	}, store, bucket)
	if err != nil {
		t.Fatal(err)
	}
	go g.ServeListener(ln, "SASL_PLAINTEXT")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.Close(ctx)
	})
	return addr
}

func unsecuredToken(sub string, exp time.Time) oauth.Auth {
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"sub":%q,"exp":%d}`, sub, exp.Unix())
	return oauth.Auth{Token: enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + "."}
}

// pingWith connects with mech and asks for metadata: how clients learn
// that authentication failed (produce would retry).
func pingWith(t *testing.T, addr string, mech sasl.Mechanism) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(mech))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

func produceWith(t *testing.T, addr string, mech sasl.Mechanism) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(mech), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("sasl"),
		kgo.RequestRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, kgo.StringRecord("authenticated")).FirstErr()
}

// Each mechanism lets the right credentials in and keeps wrong ones out
// with SASL_AUTHENTICATION_FAILED; an unknown user gets the very message a
// wrong password gets.
func TestSASLMechanisms(t *testing.T) {
	addr := saslGateway(t, 0)
	good := map[string]sasl.Mechanism{
		"SCRAM-SHA-512": scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism(),
		"SCRAM-SHA-256": scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism(),
		"PLAIN":         plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism(),
		"OAUTHBEARER":   unsecuredToken("alice", time.Now().Add(time.Hour)).AsMechanism(),
	}
	for name, mech := range good {
		if err := produceWith(t, addr, mech); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	refused := map[string]sasl.Mechanism{
		"SCRAM-SHA-512 wrong password": scram.Auth{User: "alice", Pass: "guess"}.AsSha512Mechanism(),
		"SCRAM-SHA-256 unknown user":   scram.Auth{User: "mallory", Pass: "guess"}.AsSha256Mechanism(),
		"PLAIN wrong password":         plain.Auth{User: "alice", Pass: "guess"}.AsMechanism(),
		"PLAIN unknown user":           plain.Auth{User: "mallory", Pass: "guess"}.AsMechanism(),
	}
	messages := map[string]string{}
	for name, mech := range refused {
		err := pingWith(t, addr, mech)
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Errorf("%s: %v, want SASL_AUTHENTICATION_FAILED", name, err)
			continue
		}
		messages[name] = err.Error()
	}
	if a, b := messages["PLAIN wrong password"], messages["PLAIN unknown user"]; a != b {
		t.Errorf("a wrong password and an unknown user read differently:\n%s\n%s", a, b)
	}
	err := pingWith(t, addr, unsecuredToken("alice", time.Now().Add(-time.Minute)).AsMechanism())
	if !errors.Is(err, kerr.SaslAuthenticationFailed) || !strings.Contains(err.Error(), "invalid_token") {
		t.Errorf("expired token: %v, want SASL_AUTHENTICATION_FAILED with invalid_token", err)
	}
}

// rawConn is a connection that speaks Kafka frames by hand.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc}
}

// ask sends req and reads its response, or returns the read error.
func (r *rawConn) ask(req kmsg.Request, resp kmsg.Response) error {
	buf, err := r.exchange(frame(requestBody(req, 7)))
	if err != nil {
		return err
	}
	buf = buf[4:]
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		buf = buf[1:]
	}
	return resp.ReadFrom(buf)
}

// exchange sends one frame and reads the body of the one that answers it.
func (r *rawConn) exchange(f []byte) ([]byte, error) {
	if _, err := r.nc.Write(f); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(r.nc, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(r.nc, buf)
	return buf, err
}

// Before authenticating, a client may ask for ApiVersions and SASL only:
// anything else closes its connection. A failed authentication is
// answered, then the connection closes.
func TestUnauthenticatedRequestsClose(t *testing.T) {
	addr := saslGateway(t, 0)
	r := dialRaw(t, addr)
	av := kmsg.NewPtrApiVersionsRequest()
	av.SetVersion(3)
	av.ClientSoftwareName, av.ClientSoftwareVersion = "raw", "1"
	if err := r.ask(av, kmsg.NewPtrApiVersionsResponse()); err != nil {
		t.Fatalf("ApiVersions before authenticating: %v", err)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	if err := r.ask(md, kmsg.NewPtrMetadataResponse()); err == nil {
		t.Fatal("Metadata before authenticating was answered")
	}

	r = dialRaw(t, addr)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.SetVersion(1)
	hs.Mechanism = "PLAIN"
	hsResp := kmsg.NewPtrSASLHandshakeResponse()
	if err := r.ask(hs, hsResp); err != nil || hsResp.ErrorCode != 0 {
		t.Fatalf("handshake: %v %v", err, kerr.ErrorForCode(hsResp.ErrorCode))
	}
	au := kmsg.NewPtrSASLAuthenticateRequest()
	au.SetVersion(2)
	au.SASLAuthBytes = []byte("\x00alice\x00guess")
	auResp := kmsg.NewPtrSASLAuthenticateResponse()
	start := time.Now()
	if err := r.ask(au, auResp); err != nil || auResp.ErrorCode != kerr.SaslAuthenticationFailed.Code {
		t.Fatalf("wrong password: %v %v", err, kerr.ErrorForCode(auResp.ErrorCode))
	}
	expectClosed(t, r.nc)
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("closed %v after the refusal, want connection.failed.authentication.delay.ms (100 ms)", waited)
	}

	r = dialRaw(t, addr)
	hs.Mechanism = "GSSAPI"
	hsResp = kmsg.NewPtrSASLHandshakeResponse()
	if err := r.ask(hs, hsResp); err != nil || hsResp.ErrorCode != kerr.UnsupportedSaslMechanism.Code || len(hsResp.SupportedMechanisms) != 4 {
		t.Fatalf("unsupported mechanism: %v %v %v", err, kerr.ErrorForCode(hsResp.ErrorCode), hsResp.SupportedMechanisms)
	}
	expectClosed(t, r.nc)
}

// With connections.max.reauth.ms, a client that re-authenticates (franz-go
// does, from the session lifetime) goes on past it; one that does not is
// closed at its next request after it.
func TestReauthentication(t *testing.T) {
	addr := saslGateway(t, time.Second)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism()),
		kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("reauth"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := cl.ProduceSync(ctx, kgo.StringRecord("still me")).FirstErr()
		cancel()
		if err != nil {
			t.Fatalf("produce %d, across re-authentications: %v", i, err)
		}
		time.Sleep(600 * time.Millisecond)
	}

	r := dialRaw(t, addr)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.SetVersion(1)
	hs.Mechanism = "PLAIN"
	if err := r.ask(hs, kmsg.NewPtrSASLHandshakeResponse()); err != nil {
		t.Fatal(err)
	}
	au := kmsg.NewPtrSASLAuthenticateRequest()
	au.SetVersion(2)
	au.SASLAuthBytes = []byte("\x00alice\x00alice-secret")
	auResp := kmsg.NewPtrSASLAuthenticateResponse()
	if err := r.ask(au, auResp); err != nil || auResp.ErrorCode != 0 || auResp.SessionLifetimeMillis != 1000 {
		t.Fatalf("authenticate: %v %v lifetime %d", err, kerr.ErrorForCode(auResp.ErrorCode), auResp.SessionLifetimeMillis)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	if err := r.ask(md, kmsg.NewPtrMetadataResponse()); err != nil {
		t.Fatalf("metadata within the session: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := r.ask(md, kmsg.NewPtrMetadataResponse()); err == nil {
		t.Fatal("metadata after the session ended was answered")
	}
}

// rawToken sends one SASL token of SaslHandshake v0's exchange and reads
// the server's, both framed without a request header.
func (r *rawConn) rawToken(token []byte) ([]byte, error) {
	return r.exchange(frame(token))
}

// SaslHandshake v0, which librdkafka needs listed and older clients send:
// the tokens then go without request headers. A good password
// authenticates the connection; a bad one closes it.
func TestSASLHandshakeV0(t *testing.T) {
	addr := saslGateway(t, 0)
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"alice-secret", true}, {"guess", false}} {
		r := dialRaw(t, addr)
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.SetVersion(0)
		hs.Mechanism = "PLAIN"
		hsResp := kmsg.NewPtrSASLHandshakeResponse()
		if err := r.ask(hs, hsResp); err != nil || hsResp.ErrorCode != 0 {
			t.Fatalf("handshake v0: %v %v", err, kerr.ErrorForCode(hsResp.ErrorCode))
		}
		answer, err := r.rawToken([]byte("\x00alice\x00" + tc.password))
		if !tc.ok {
			if err == nil {
				t.Errorf("wrong password over v0: answered %q; want the connection closed", answer)
			}
			expectClosed(t, r.nc)
			continue
		}
		if err != nil || len(answer) != 0 {
			t.Fatalf("PLAIN over v0: %q, %v", answer, err)
		}
		md := kmsg.NewPtrMetadataRequest()
		md.SetVersion(12)
		if err := r.ask(md, kmsg.NewPtrMetadataResponse()); err != nil {
			t.Fatalf("metadata after authenticating over v0: %v", err)
		}
	}
}
