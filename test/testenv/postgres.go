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
	pgOnce sync.Once
	pgBase string // postgres://postgres@127.0.0.1:PORT
	pgErr  error
	pgDBs  atomic.Int64
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgBase+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatalf("PostgreSQL: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("PostgreSQL: create database %s: %v", name, err)
	}
	return pgBase + "/" + name + "?sslmode=disable"
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
	bin, err := pgBinDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "caudal-pg-")
	if err != nil {
		return "", err
	}
	data, sock, logf := filepath.Join(dir, "data"), filepath.Join(dir, "sock"), filepath.Join(dir, "server.log")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return "", err
	}
	// initdb and the server refuse to run as root: run them as postgres,
	// which must own the directory.
	var asUser []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("running as root needs a postgres user (run `make setup`): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{dir, sock} {
			if err := os.Chown(p, uid, gid); err != nil {
				os.RemoveAll(dir)
				return "", err
			}
		}
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) ([]byte, error) {
		full := append(append([]string{}, asUser...), args...)
		cmd := exec.Command(full[0], full[1:]...)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if out, err := run(filepath.Join(bin, "initdb"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", data); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	addr, err := freeAddr() // minio.go
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	// fsync=off (and friends): a test server's data may be lost in a crash;
	// that is fine and makes tests faster. Benchmarks therefore measure
	// commits without disk flushes.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %s -k %s -c fsync=off -c max_connections=300", port, sock)
	out, err := run(filepath.Join(bin, "pg_ctl"), "start", "-w", "-t", "60", "-D", data, "-l", logf, "-o", opts)
	stop := func() {
		run(filepath.Join(bin, "pg_ctl"), "stop", "-m", "immediate", "-D", data)
		os.RemoveAll(dir)
	}
	if err == nil {
		err = waitTCP(addr, 30*time.Second)
	}
	if err != nil {
		tail := logTail(logf)
		stop()
		return "", fmt.Errorf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, tail)
	}
	atExit(stop)
	return "postgres://postgres@" + addr, nil
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.TrimSpace(string(bytes.Join(lines, []byte("\n"))))
}
