package gateway

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway/auth"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// saslMechanisms are the mechanisms FuzzSASLExchange picks from.
var saslMechanisms = []string{auth.MechanismPlain, auth.MechanismScramSHA256, auth.MechanismScramSHA512, auth.MechanismOAuthBearer}

// FuzzSASLExchange sends a handshake (v1, or v0 when mech's high bit is
// set) for one of the mechanisms and then the fuzzer's bytes as two
// SaslAuthenticate messages (v0: raw tokens), on a connection of
// a SASL listener that has not authenticated; and then a Metadata request,
// which must be refused unless the exchange authenticated. Nothing may
// panic.
func FuzzSASLExchange(f *testing.F) {
	g := newTestGatewayWith(f, Config{
		Listeners: []Listener{{Name: "SASL_PLAINTEXT", Protocol: SASLPlaintext}},
		SASL:      SASLConfig{Mechanisms: saslMechanisms, OAuth: auth.OAuthConfig{Unsecured: true}},
	}, nil)
	for _, mech := range []string{auth.MechanismScramSHA256, auth.MechanismScramSHA512} {
		cred, err := auth.NewScramCredential("alice", mech, "alice-secret", 4096)
		if err != nil {
			f.Fatal(err)
		}
		if err := g.store.PutScramCredential(context.Background(), cred); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(byte(0), []byte("\x00alice\x00alice-secret"), []byte{})
	f.Add(byte(0), []byte("alice\x00alice\x00x"), []byte("\x00"))
	f.Add(byte(0x80), []byte("\x00alice\x00alice-secret"), []byte("x"))
	f.Add(byte(0x81), []byte("n,,n=alice,r=abcdefghijklmnop"), []byte("c=biws,r=abcdefghijklmnop,p=AAAA"))
	f.Add(byte(1), []byte("n,,n=alice,r=abcdefghijklmnop"), []byte("c=biws,r=abcdefghijklmnop,p=AAAA"))
	f.Add(byte(2), []byte("n,a=alice,n=alice,r=xyz"), []byte("c=biws,r=xyz,p="))
	f.Add(byte(2), []byte("p=tls-unique,,n=alice,r=xyz"), []byte{})
	f.Add(byte(3), []byte("n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZXhwIjo5OTk5OTk5OTk5fQ.\x01\x01"), []byte("\x01"))
	f.Add(byte(3), []byte("n,,\x01auth=Bearer a.b.c\x01\x01"), []byte("\x01"))
	f.Fuzz(func(t *testing.T, mech byte, first, second []byte) {
		client, server := net.Pipe()
		defer client.Close()
		defer server.Close()
		c := newConn(g, server)
		c.listener, c.authenticated = g.cfg.Listeners[0], false
		c.ctx, c.cancel = context.WithTimeout(context.Background(), time.Second)
		defer c.cancel()
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.SetVersion(1)
		if mech&0x80 != 0 { // v0: the tokens go without request headers
			hs.SetVersion(0)
		}
		hs.Mechanism = saslMechanisms[int(mech&0x7f)%len(saslMechanisms)]
		if _, err := c.handle(requestBody(hs, 1)); err != nil || c.closing != nil {
			t.Fatalf("handshake for %s refused: %v %v", hs.Mechanism, err, c.closing)
		}
		for i, msg := range [][]byte{first, second} {
			var r *reply
			var err error
			if c.rawSASL {
				r, err = c.handleRawSASL(msg)
			} else {
				au := kmsg.NewPtrSASLAuthenticateRequest()
				au.SetVersion(2)
				au.SASLAuthBytes = msg
				r, err = c.handle(requestBody(au, int32(2+i)))
			}
			if err != nil || c.closing != nil {
				return // refused: the connection closes
			}
			if r.resp != nil {
				appendResponse(nil, r)
			}
		}
		md := kmsg.NewPtrMetadataRequest()
		md.SetVersion(12)
		if _, err := c.handle(requestBody(md, 9)); (err == nil) != c.authenticated {
			t.Fatalf("metadata after the exchange: error %v, authenticated %v", err, c.authenticated)
		}
	})
}
