package gateway_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/objstore/objstoretest"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// tlsGateway serves a PLAINTEXT and an SSL listener, the SSL one with the
// CA's certificate for "server" and clientAuth, and returns their
// addresses.
func tlsGateway(t *testing.T, ca *testenv.CA, clientAuth tls.ClientAuthType) (plain, ssl string, certFile, keyFile string) {
	t.Helper()
	bucket := objstoretest.OpenFile(t)
	store := metadatatest.OpenSQLite(t, metadata.Options{})
	certFile, keyFile = ca.Issue(t, "server")
	files := gateway.TLSFiles{CertFile: certFile, KeyFile: keyFile, ClientAuth: clientAuth}
	if clientAuth != tls.NoClientCert {
		files.ClientCAFile = ca.File
	}
	cfg, err := gateway.NewTLSConfig(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	pln, _ := net.Listen("tcp", "127.0.0.1:0")
	sln, _ := net.Listen("tcp", "127.0.0.1:0")
	g, err := gateway.New(gateway.Config{
		Advertise:     pln.Addr().String(),
		FlushInterval: 5 * time.Millisecond,
		Listeners: []gateway.Listener{
			{Name: "PLAINTEXT", Protocol: gateway.Plaintext, Advertise: pln.Addr().String()},
			{Name: "SSL", Protocol: gateway.SSL, Advertise: sln.Addr().String(), TLS: cfg},
		},
	}, store, bucket)
	if err != nil {
		t.Fatal(err)
	}
	go g.ServeListener(pln, "PLAINTEXT")
	go g.ServeListener(sln, "SSL")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.Close(ctx)
	})
	return pln.Addr().String(), sln.Addr().String(), certFile, keyFile
}

// roundTrip produces a record over addr and reads it back within wait.
func roundTrip(t *testing.T, addr string, tlsCfg *tls.Config, wait time.Duration) error {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("tls"),
		kgo.ConsumeTopics("tls"), kgo.RequestRetries(2)}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := cl.ProduceSync(ctx, kgo.StringRecord("over tls")).FirstErr(); err != nil {
		return err
	}
	fs := cl.PollRecords(ctx, 1)
	if err := fs.Err(); err != nil {
		return err
	}
	if fs.NumRecords() == 0 {
		return ctx.Err()
	}
	return nil
}

// An SSL listener serves Kafka clients over TLS, and Metadata on it gives
// the SSL listener's address, not the plaintext one.
func TestSSLListener(t *testing.T) {
	ca := testenv.NewCA(t)
	plain, ssl, _, _ := tlsGateway(t, ca, tls.NoClientCert)
	if err := roundTrip(t, ssl, ca.ClientTLS(t, ""), 10*time.Second); err != nil {
		t.Fatalf("produce and fetch over TLS: %v", err)
	}
	for _, tc := range []struct {
		addr string
		tls  *tls.Config
	}{{plain, nil}, {ssl, ca.ClientTLS(t, "")}} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(tc.addr), kgo.DialTLSConfig(tc.tls))
		if tc.tls == nil {
			cl, err = kgo.NewClient(kgo.SeedBrokers(tc.addr))
		}
		if err != nil {
			t.Fatal(err)
		}
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), cl)
		cl.Close()
		if err != nil {
			t.Fatal(err)
		}
		b := resp.Brokers[0]
		if got := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))); got != tc.addr {
			t.Errorf("Metadata via %s lists the broker at %s", tc.addr, got)
		}
	}
}

// With ssl.client.auth=required a client without a certificate is refused
// and one with a certificate of the CA is served.
func TestMutualTLS(t *testing.T) {
	ca := testenv.NewCA(t)
	_, ssl, _, _ := tlsGateway(t, ca, tls.RequireAndVerifyClientCert)
	if err := roundTrip(t, ssl, ca.ClientTLS(t, ""), 2*time.Second); err == nil {
		t.Error("a client without a certificate was served")
	}
	if err := roundTrip(t, ssl, ca.ClientTLS(t, "alice"), 10*time.Second); err != nil {
		t.Errorf("a client with a certificate: %v", err)
	}
	other := testenv.NewCA(t)
	cfg := other.ClientTLS(t, "mallory")
	cfg.RootCAs = ca.ClientTLS(t, "").RootCAs
	if err := roundTrip(t, ssl, cfg, 2*time.Second); err == nil {
		t.Error("a client with a certificate of another CA was served")
	}
}

// Plaintext sent to a TLS port closes the connection.
func TestPlaintextToTLSPort(t *testing.T) {
	ca := testenv.NewCA(t)
	_, ssl, _, _ := tlsGateway(t, ca, tls.NoClientCert)
	nc, err := net.Dial("tcp", ssl)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// An ApiVersions v0 request, in plaintext.
	nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1))
	nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, err = io.ReadAll(nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("a plaintext request to the TLS port left the connection open")
	}
}

// A renewed certificate written over the files is served to new
// connections without a restart.
func TestCertificateReload(t *testing.T) {
	ca := testenv.NewCA(t)
	_, ssl, certFile, keyFile := tlsGateway(t, ca, tls.NoClientCert)
	cn := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", ssl, ca.ClientTLS(t, ""))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := cn(); got != "server" {
		t.Fatalf("served certificate for %q, want server", got)
	}
	newCert, newKey := ca.Issue(t, "renewed")
	copyFile(t, newKey, keyFile)
	copyFile(t, newCert, certFile)
	deadline := time.Now().Add(10 * time.Second)
	for cn() != "renewed" {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate is never served")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
