package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
)

// Backend names the stores a caudal under test runs on.
type Backend string

const (
	// Dev is caudal dev's embedded default: SQLite and a local directory.
	Dev Backend = "dev"
	// Cloud is MinIO and PostgreSQL, started by this package.
	Cloud Backend = "cloud"
)

// Backends lists both, for tests that run on each.
var Backends = []Backend{Dev, Cloud}

// StoreURLs returns a fresh bucket URL and metadata URL on backend.
func StoreURLs(t testing.TB, backend Backend) (bucketURL, metadataURL string) {
	t.Helper()
	if backend == Cloud {
		m := MinIO(t)
		return m.URL(m.NewBucket(t), "caudal"), Postgres(t)
	}
	dir := t.TempDir()
	return "file://" + filepath.Join(dir, "objects"), "sqlite://" + filepath.Join(dir, "metadata.db")
}

// Caudal is a gateway running inside the test process.
type Caudal struct {
	Addr        string
	BucketURL   string
	MetadataURL string
	Config      gateway.Config

	mu     sync.Mutex
	gw     *gateway.Gateway
	store  metadata.Store
	bucket objstore.Bucket
}

// StartCaudal starts a gateway on backend with cfg (Advertise and NodeID
// are filled in) on a free loopback port; it stops when the test ends.
func StartCaudal(t testing.TB, backend Backend, cfg gateway.Config) *Caudal {
	t.Helper()
	bucketURL, metadataURL := StoreURLs(t, backend)
	c := &Caudal{Addr: FreeAddr(t), BucketURL: bucketURL, MetadataURL: metadataURL, Config: cfg}
	c.start(t)
	t.Cleanup(c.Stop)
	return c
}

func (c *Caudal) start(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	bucket, err := objstore.Open(ctx, c.BucketURL)
	if err != nil {
		t.Fatalf("open bucket %s: %v", c.BucketURL, err)
	}
	store, err := metadata.Open(ctx, c.MetadataURL, metadata.Options{})
	if err != nil {
		t.Fatalf("open metadata %s: %v", c.MetadataURL, err)
	}
	cfg := c.Config
	cfg.Advertise = c.Addr
	gw, err := gateway.New(cfg, store, bucket)
	if err != nil {
		t.Fatalf("new gateway: %v", err)
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", c.Addr, err)
	}
	go gw.Serve(ln)
	c.mu.Lock()
	c.gw, c.store, c.bucket = gw, store, bucket
	c.mu.Unlock()
}

// Stop shuts the gateway down gracefully: buffered batches are flushed
// and acknowledged first.
func (c *Caudal) Stop() {
	c.mu.Lock()
	gw, store, bucket := c.gw, c.store, c.bucket
	c.gw = nil
	c.mu.Unlock()
	if gw == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw.Close(ctx)
	store.Close()
	bucket.Close()
}

// OpenStores opens a second handle on the gateway's metadata store and
// bucket, for tests that run the worker's jobs or look behind the
// gateway's back; both close when the test ends.
func (c *Caudal) OpenStores(t testing.TB) (metadata.Store, objstore.Bucket) {
	t.Helper()
	ctx := context.Background()
	store, err := metadata.Open(ctx, c.MetadataURL, metadata.Options{})
	if err != nil {
		t.Fatalf("open metadata %s: %v", c.MetadataURL, err)
	}
	t.Cleanup(func() { store.Close() })
	bucket, err := objstore.Open(ctx, c.BucketURL)
	if err != nil {
		t.Fatalf("open bucket %s: %v", c.BucketURL, err)
	}
	t.Cleanup(func() { bucket.Close() })
	return store, bucket
}

// Restart stops the gateway and starts a new one on the same stores and
// address, as a process restart would.
func (c *Caudal) Restart(t testing.TB) {
	t.Helper()
	c.Stop()
	c.start(t)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// CaudalBinary builds cmd/caudal once per test process and returns its path.
func CaudalBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "caudal-bin-")
		if err != nil {
			binErr = err
			return
		}
		atExit(func() { os.RemoveAll(dir) })
		binPath = filepath.Join(dir, "caudal")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/caudal/caudal/cmd/caudal").CombinedOutput()
		if err != nil {
			binErr = &buildError{out: string(out), err: err}
		}
	})
	if binErr != nil {
		t.Fatalf("build caudal: %v", binErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// Process is caudal running as a child process, for tests that kill it.
type Process struct {
	Addr string
	args []string
	// wrap runs the binary, e.g. under prlimit; empty runs it directly.
	wrap []string
	// listeners are the addresses, beside Addr, that Start waits for.
	listeners []string
	cmd       *exec.Cmd
	log       string
}

// Start (re)starts the process with the same flags and address.
func (p *Process) Start(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	argv := append(append(append([]string{}, p.wrap...), CaudalBinary(t)), p.args...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start caudal: %v", err)
	}
	// The other listeners are bound just after Addr's: wait for them too,
	// so that a client's first dial is not refused.
	for _, addr := range append([]string{p.Addr}, p.listeners...) {
		if err := waitTCP(addr, 20*time.Second); err != nil {
			t.Fatalf("caudal did not start listening on %s: %v\n%s", addr, err, lastBytes(p.Log(), 2000))
		}
	}
}

// Kill sends SIGKILL: nothing buffered is flushed.
func (p *Process) Kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		p.cmd = nil
	}
}

// Terminate sends SIGTERM and waits: the gateway flushes, acknowledges
// and deregisters before it exits.
func (p *Process) Terminate() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.cmd.Wait()
		p.cmd = nil
	}
}

// Pid is the running process's id, 0 when it is not running.
func (p *Process) Pid() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Log returns what the process printed.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}
