package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// TLSFiles are a listener's certificate and key (PEM), and optionally the
// CAs that client certificates must chain to (mTLS).
type TLSFiles struct {
	CertFile, KeyFile string
	ClientCAFile      string
	// ClientAuth: tls.NoClientCert, tls.VerifyClientCertIfGiven
	// ("requested") or tls.RequireAndVerifyClientCert ("required").
	ClientAuth tls.ClientAuthType
}

// certReloadCheck is how often a handshake may look at the certificate
// files for a newer version.
const certReloadCheck = time.Second

// NewTLSConfig is the TLS configuration of a listener: TLS 1.2 at least,
// and a certificate read again from its files when they change, so that a
// renewed certificate is served without a restart.
func NewTLSConfig(f TLSFiles, log *slog.Logger) (*tls.Config, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cr := &certReloader{files: f, log: log}
	if err := cr.load(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: cr.get,
		ClientAuth:     f.ClientAuth,
	}
	if f.ClientCAFile != "" {
		pem, err := os.ReadFile(f.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("read client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA file %s holds no PEM certificate", f.ClientCAFile)
		}
		cfg.ClientCAs = pool
	} else if f.ClientAuth >= tls.VerifyClientCertIfGiven {
		return nil, errors.New("client certificates are asked for but no client CA file is given")
	}
	return cfg, nil
}

// certReloader serves the key pair in its files, loading it again when
// either file's modification time changes.
type certReloader struct {
	files TLSFiles
	log   *slog.Logger

	mu              sync.Mutex
	cert            *tls.Certificate
	certMod, keyMod time.Time
	checked         time.Time
}

func (cr *certReloader) load() error {
	cm, km, err := cr.modTimes()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(cr.files.CertFile, cr.files.KeyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s: %w", cr.files.CertFile, err)
	}
	cr.cert, cr.certMod, cr.keyMod = &cert, cm, km
	return nil
}

func (cr *certReloader) modTimes() (time.Time, time.Time, error) {
	c, err := os.Stat(cr.files.CertFile)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("TLS certificate: %w", err)
	}
	k, err := os.Stat(cr.files.KeyFile)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("TLS key: %w", err)
	}
	return c.ModTime(), k.ModTime(), nil
}

func (cr *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if now := time.Now(); now.Sub(cr.checked) >= certReloadCheck {
		cr.checked = now
		cm, km, err := cr.modTimes()
		if err == nil && (!cm.Equal(cr.certMod) || !km.Equal(cr.keyMod)) {
			// A half-written pair fails to load; the old one serves
			// until the files agree again.
			if err := cr.load(); err != nil {
				cr.log.Warn("reload TLS certificate", "err", err)
			} else {
				cr.log.Info("reloaded TLS certificate", "file", cr.files.CertFile)
			}
		}
	}
	return cr.cert, nil
}
