package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
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

	bin, data, logf, opts string
	addr                  string
	asUser                []string // runuser prefix when running as root
}

// StartStoppablePostgres initialises and starts a PostgreSQL server for t.
func StartStoppablePostgres(t testing.TB) *StoppablePostgres {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	dir, err := os.MkdirTemp("", "caudal-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		t.Fatal(err)
	}
	p := &StoppablePostgres{bin: bin, data: filepath.Join(dir, "data"), logf: filepath.Join(dir, "server.log"), addr: FreeAddr(t)}
	// initdb and the server refuse to run as root: run them as postgres,
	// which must own the directory.
	if os.Geteuid() == 0 {
		if err := chownToPostgres(dir, sock); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		p.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := p.run("initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", p.data); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	_, port, _ := net.SplitHostPort(p.addr)
	// fsync=off as in Postgres: a crash of the machine is not what the
	// test is about, and a stop -m fast still checkpoints.
	p.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %s -k %s -c fsync=off -c max_connections=300", port, sock)
	p.URL = "postgres://postgres@" + p.addr + "/postgres?sslmode=disable"
	t.Cleanup(func() { p.run("pg_ctl", "stop", "-m", "immediate", "-D", p.data) })
	p.Start(t)
	return p
}

func chownToPostgres(paths ...string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user (run `make setup`): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// run runs one of the server's programs as the server's user.
func (p *StoppablePostgres) run(prog string, args ...string) ([]byte, error) {
	full := append(append(append([]string{}, p.asUser...), filepath.Join(p.bin, prog)), args...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Dir = filepath.Dir(p.data)
	return cmd.CombinedOutput()
}

// Start starts the server (again) and waits until it accepts connections.
func (p *StoppablePostgres) Start(t testing.TB) {
	t.Helper()
	out, err := p.run("pg_ctl", "start", "-w", "-t", "60", "-D", p.data, "-l", p.logf, "-o", p.opts)
	if err == nil {
		err = waitTCP(p.addr, 30*time.Second)
	}
	if err != nil {
		t.Fatalf("testenv: pg_ctl start: %v\n%s\nserver log:\n%s", err, out, logTail(p.logf))
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
