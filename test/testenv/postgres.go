package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	pgOnce   sync.Once
	pgBase   string // postgres://postgres@127.0.0.1:PORT
	pgShared *pgServer
	pgErr    error
	pgDBs    atomic.Int64
)

// Postgres returns the URL of a fresh, empty database on a throwaway
// PostgreSQL server that is started once per test process and stopped when
// its tests are done. Every call creates a new database, so parallel tests
// are isolated from each other.
func Postgres(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgBase, pgErr = startPostgres() })
	if pgErr != nil {
		t.Fatalf("PostgreSQL: %v", pgErr)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pgDBs.Add(1))
	pgAdmin(t, "CREATE DATABASE "+name)
	return pgBase + "/" + name + pgURLSuffix
}

const pgURLSuffix = "?sslmode=disable"

// DropPostgres drops the database at url, which Postgres returned,
// disconnecting whoever still uses it: what it holds and whatever
// maintenance it has pending go with it.
func DropPostgres(t testing.TB, url string) {
	t.Helper()
	name, ok := strings.CutPrefix(strings.TrimSuffix(url, pgURLSuffix), pgBase+"/")
	if !ok {
		t.Fatalf("PostgreSQL: %s is not a database of the test server", url)
	}
	pgAdmin(t, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// pgAdmin runs stmt on the test server's postgres database.
func pgAdmin(t testing.TB, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgBase+"/postgres"+pgURLSuffix)
	if err != nil {
		t.Fatalf("PostgreSQL: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("PostgreSQL: %s: %v", stmt, err)
	}
}

// pgBinDir finds the newest installed server's bin directory.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var ok []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", fmt.Errorf("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: run `make setup`")
	}
	sort.Slice(ok, func(i, j int) bool { // numeric version order
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(ok[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(ok[j])))
		return vi < vj
	})
	return ok[len(ok)-1], nil
}

func startPostgres() (string, error) {
	s, err := newPGServer()
	if err != nil {
		return "", err
	}
	stop := func() {
		s.run("pg_ctl", "stop", "-m", "immediate", "-D", s.data)
		os.RemoveAll(s.dir)
	}
	if err := s.start(); err != nil {
		stop()
		return "", err
	}
	atExit(stop)
	pgShared = s
	return "postgres://postgres@" + s.addr, nil
}

// PostgresPid is the postmaster pid of the shared server Postgres started,
// 0 if this process has not started it. Its backends are its children:
// benchmarks count their own server's CPU by it, not every postgres
// process on a shared machine.
func PostgresPid() int {
	if pgShared == nil {
		return 0
	}
	return pgShared.pid()
}

// pid is the running postmaster's pid, the first line of postmaster.pid.
func (s *pgServer) pid() int {
	data, err := os.ReadFile(filepath.Join(s.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// pgServer is a PostgreSQL cluster made with initdb in a temporary
// directory, listening on a free loopback port once started.
type pgServer struct {
	bin, dir, data, logf, opts, addr string
	asUser                           []string // runuser prefix when running as root
}

func newPGServer() (*pgServer, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "caudal-pg-")
	if err != nil {
		return nil, err
	}
	s := &pgServer{bin: bin, dir: dir, data: filepath.Join(dir, "data"), logf: filepath.Join(dir, "server.log")}
	if err := s.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *pgServer) init() error {
	sock := filepath.Join(s.dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return err
	}
	// initdb and the server refuse to run as root: run them as postgres,
	// which must own the directory.
	if os.Geteuid() == 0 {
		if err := chownToPostgres(s.dir, sock); err != nil {
			return err
		}
		s.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := s.run("initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", s.data); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	s.addr = addr
	_, port, _ := net.SplitHostPort(addr)
	// fsync=off (and friends): a test server's data may be lost in a crash
	// of the machine; that is fine and makes tests faster. Benchmarks
	// therefore measure commits without disk flushes.
	s.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %s -k %s -c fsync=off -c max_connections=300", port, sock)
	return nil
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
func (s *pgServer) run(prog string, args ...string) ([]byte, error) {
	full := append(append(append([]string{}, s.asUser...), filepath.Join(s.bin, prog)), args...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// start starts the server and waits until it accepts connections.
func (s *pgServer) start() error {
	out, err := s.run("pg_ctl", "start", "-w", "-t", "60", "-D", s.data, "-l", s.logf, "-o", s.opts)
	if err == nil {
		err = waitTCP(s.addr, 30*time.Second)
	}
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, logTail(s.logf))
	}
	return nil
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.TrimSpace(string(bytes.Join(lines, []byte("\n"))))
}
