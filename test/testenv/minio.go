package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Root credentials and region of the test MinIO server. MinIO puts them
// into the process environment as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// and AWS_REGION.
const (
	MinIOUser     = "caudal-test"
	MinIOPassword = "caudal-test-secret"
	MinIORegion   = "us-east-1"
)

// MinIOServer is the real MinIO server shared by a test process's tests.
type MinIOServer struct {
	addr    string // API host:port
	dir     string // data directory
	cmd     *exec.Cmd
	exited  chan struct{}
	client  *minio.Client
	buckets atomic.Int64
}

var (
	minioOnce   sync.Once
	minioServer *MinIOServer
	minioErr    error
)

// MinIO returns the test process's MinIO server, starting it on first use;
// it is stopped and its data removed after the process's tests (see Run).
// It sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION to the
// server's root credentials so that s3:// bucket URLs work unchanged. If the
// server cannot start, every caller fails with the same reason.
func MinIO(t testing.TB) *MinIOServer {
	t.Helper()
	minioOnce.Do(func() { minioServer, minioErr = startMinIO() })
	if minioErr != nil {
		t.Fatalf("testenv: MinIO: %v", minioErr)
	}
	return minioServer
}

// minioBinary finds the server: $CAUDAL_MINIO_BIN, the cache `make setup`
// builds it into, or PATH.
func minioBinary() (string, error) {
	if p := os.Getenv("CAUDAL_MINIO_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CAUDAL_MINIO_BIN: %w", err)
		}
		return p, nil
	}
	cached := filepath.Join(CacheDir(), "bin", "minio")
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no minio server binary at %s, in $CAUDAL_MINIO_BIN or on PATH: run `make setup`", cached)
}

func startMinIO() (*MinIOServer, error) {
	bin, err := minioBinary()
	if err != nil {
		return nil, err
	}
	// Another process may take a port between freeAddr and MinIO binding
	// it, and MinIO exits; try again then.
	for attempt := 1; ; attempt++ {
		s, err := launchMinIO(bin)
		if err == nil || attempt == 3 || !errors.Is(err, errMinIOExited) {
			return s, err
		}
	}
}

var errMinIOExited = errors.New("minio server exited during startup")

func launchMinIO(bin string) (*MinIOServer, error) {
	var console string
	dir, err := os.MkdirTemp("", "caudal-minio-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err == nil {
		console, err = freeAddr()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logPath := filepath.Join(dir, "minio.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &MinIOServer{addr: addr, dir: dir}
	err = s.start(bin, console, logFile)
	logFile.Close() // the child has its own descriptor
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.waitReady(60 * time.Second); err != nil {
		out, _ := os.ReadFile(logPath)
		s.stop()
		return nil, fmt.Errorf("%w; server output:\n%s", err, lastBytes(string(out), 2000))
	}
	if err := s.connect(); err != nil {
		s.stop()
		return nil, err
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":         MinIOUser,
		"AWS_SECRET_ACCESS_KEY":     MinIOPassword,
		"AWS_REGION":                MinIORegion,
		"AWS_EC2_METADATA_DISABLED": "true",
		"AWS_SESSION_TOKEN":         "",
		"AWS_PROFILE":               "",
	} {
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
	atExit(s.stop)
	return s, nil
}

// start starts the server on s's address and data directory, its output
// going to log.
func (s *MinIOServer) start(bin, console string, log *os.File) error {
	cmd := exec.Command(bin, "server", filepath.Join(s.dir, "data"),
		"--address", s.addr, "--console-address", console, "--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+MinIOUser,
		"MINIO_ROOT_PASSWORD="+MinIOPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	return nil
}

// connect makes s's admin client.
func (s *MinIOServer) connect() (err error) {
	s.client, err = minio.New(s.addr, &minio.Options{
		Creds:  credentials.NewStaticV4(MinIOUser, MinIOPassword, ""),
		Region: MinIORegion,
	})
	return err
}

// waitReady polls MinIO's readiness endpoint until it answers 200.
func (s *MinIOServer) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("%w: %v", errMinIOExited, s.cmd.ProcessState)
		default:
		}
		resp, err := c.Get(s.Endpoint() + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("readiness check: %s", resp.Status)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("minio server not ready after %s: %v", timeout, last)
}

// stop kills the server, waits for it and removes its data.
func (s *MinIOServer) stop() {
	s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
	os.RemoveAll(s.dir)
}

// MinIOPid is the pid of the shared server MinIO started, 0 if this
// process has not started it: benchmarks count the CPU of their own
// server, not of every minio process on a shared machine.
func MinIOPid() int {
	if minioServer == nil || minioServer.cmd == nil || minioServer.cmd.Process == nil {
		return 0
	}
	return minioServer.cmd.Process.Pid
}

// Endpoint is the server's S3 API base URL, http://127.0.0.1:PORT.
func (s *MinIOServer) Endpoint() string { return "http://" + s.addr }

// Client returns a minio-go client with root credentials, for checking
// independently what code under test stored.
func (s *MinIOServer) Client() *minio.Client { return s.client }

// NewBucket creates a bucket with a fresh name and returns the name. Buckets
// are not deleted: the server's data goes away with it.
func (s *MinIOServer) NewBucket(t testing.TB) string {
	t.Helper()
	var suffix [4]byte
	rand.Read(suffix[:])
	name := fmt.Sprintf("%s-%d-%s", bucketWord(t.Name()), s.buckets.Add(1), hex.EncodeToString(suffix[:]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: MinIORegion}); err != nil {
		t.Fatalf("testenv: create MinIO bucket %s: %v", name, err)
	}
	return name
}

// bucketWord turns a test name into the start of a valid bucket name.
func bucketWord(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	w := strings.Trim(b.String(), "-")
	if w == "" {
		w = "test"
	}
	return "t-" + w
}

// URL returns the s3:// bucket URL of bucket on this server, with prefix
// (may be empty).
func (s *MinIOServer) URL(bucket, prefix string) string {
	q := url.Values{"endpoint": {s.Endpoint()}, "region": {MinIORegion}}
	u := url.URL{Scheme: "s3", Host: bucket, Path: "/" + strings.TrimPrefix(prefix, "/"), RawQuery: q.Encode()}
	return u.String()
}
