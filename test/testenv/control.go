package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Fault tests need servers they can take away and bring back. MinIO and
// Postgres share one server among a test process's tests, so stopping it
// would break the others: the servers here belong to one test, keep their
// address and data across a stop, and go away when the test ends.

// StoppableMinIO is a MinIO server of one test's own that the test can stop
// and start again on the same address and data directory.
type StoppableMinIO struct {
	*MinIOServer // the running process; its address and directory stay
	bin, console string
}

// StartStoppableMinIO starts a MinIO server for t and, like MinIO, sets the
// AWS_* variables (for t) that s3:// bucket URLs need, in this process and
// in the processes it starts.
func StartStoppableMinIO(t testing.TB) *StoppableMinIO {
	t.Helper()
	bin, err := minioBinary()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	dir, err := os.MkdirTemp("", "caudal-minio-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &StoppableMinIO{MinIOServer: &MinIOServer{addr: FreeAddr(t), dir: dir}, bin: bin, console: FreeAddr(t)}
	t.Cleanup(m.Stop)
	m.Start(t)
	if err := m.connect(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", MinIOUser)
	t.Setenv("AWS_SECRET_ACCESS_KEY", MinIOPassword)
	t.Setenv("AWS_REGION", MinIORegion)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return m
}

// Start starts the server (again) and waits until it is ready.
func (m *StoppableMinIO) Start(t testing.TB) {
	t.Helper()
	logFile, err := os.OpenFile(m.LogPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	if err := m.start(m.bin, m.console, logFile); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := m.waitReady(60 * time.Second); err != nil {
		t.Fatalf("testenv: MinIO: %v\n%s", err, logTail(m.LogPath()))
	}
}

// Stop ends the server as a service manager would (SIGTERM, then SIGKILL
// after 20 s) and waits for it; the data stays.
func (m *StoppableMinIO) Stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
}

// LogPath is the file the server's output goes to, across restarts.
func (m *StoppableMinIO) LogPath() string { return filepath.Join(m.dir, "minio.log") }

// StoppablePostgres is a PostgreSQL server of one test's own that the test
// can stop and start again on the same port and data.
type StoppablePostgres struct {
	// URL is the server's postgres database.
	URL string

	*pgServer
}

// StartStoppablePostgres initialises and starts a PostgreSQL server for t.
func StartStoppablePostgres(t testing.TB) *StoppablePostgres {
	t.Helper()
	s, err := newPGServer()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(s.dir) })
	t.Cleanup(func() { s.run("pg_ctl", "stop", "-m", "immediate", "-D", s.data) })
	p := &StoppablePostgres{URL: "postgres://postgres@" + s.addr + "/postgres?sslmode=disable", pgServer: s}
	p.Start(t)
	return p
}

// Start starts the server (again) and waits until it accepts connections.
func (p *StoppablePostgres) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Stop stops the server as an operator would (pg_ctl stop -m fast: open
// sessions are disconnected, their transactions rolled back).
func (p *StoppablePostgres) Stop(t testing.TB) {
	t.Helper()
	if out, err := p.run("pg_ctl", "stop", "-w", "-m", "fast", "-D", p.data); err != nil {
		t.Fatalf("testenv: pg_ctl stop: %v\n%s", err, out)
	}
}

// LogPath is the server's log file.
func (p *StoppablePostgres) LogPath() string { return p.logf }

// Signal sends sig to the running process, e.g. SIGSTOP and SIGCONT to
// freeze a gateway with its connections open.
func (p *Process) Signal(sig os.Signal) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("process is not running")
	}
	return p.cmd.Process.Signal(sig)
}
