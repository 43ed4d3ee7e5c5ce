package soak

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// child is a process the soak runs beside the gateways: the worker, or a
// confluent_kafka client. Its stderr goes to a log file, and so does its
// stdout unless lines takes it line by line.
type child struct {
	name  string
	argv  []string
	log   string
	lines func(string)
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
}

// start starts the process (again, with the same arguments).
func (c *child) start(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child has its own descriptor
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Stderr = f
	var out io.Reader
	if c.lines == nil {
		cmd.Stdout = f
	} else if out, err = cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", c.name, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if out != nil {
			s := bufio.NewScanner(out)
			s.Buffer(make([]byte, 64<<10), 1<<20)
			for s.Scan() {
				c.lines(s.Text())
			}
		}
		cmd.Wait()
	}()
	c.cmd, c.done = cmd, done
}

// running says whether the process is still there.
func (c *child) running() bool {
	if c.done == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process.
func (c *child) kill() {
	if c.running() {
		c.cmd.Process.Kill()
		<-c.done
	}
}

// stop sends SIGTERM and waits up to grace before it kills the process.
func (c *child) stop(grace time.Duration) {
	if !c.running() {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		c.kill()
	}
}

// logSize is how much the process has logged so far, to look only at what
// comes after it.
func (c *child) logSize() int64 {
	st, err := os.Stat(c.log)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logSince returns what the process logged after offset from.
func (c *child) logSince(from int64) string {
	f, err := os.Open(c.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
