// Package conformance runs franz-go's own integration suite — the pkg/kgo
// tests of the franz-go version in go.mod — against caudal, on `caudal dev`
// and, with CONFORMANCE_BACKENDS=dev,cloud (as `make conformance` sets it),
// on MinIO + PostgreSQL.
//
// The suite is copied out of the read-only module cache and run with
// `go test -json` pointed at caudal (KGO_SEEDS, KGO_TEST_RF=1,
// KGO_TEST_RECORDS, and a SASL_PLAINTEXT listener for the SCRAM and
// OAUTHBEARER tests). Tests that need a feature caudal does not have are
// listed, with the reason, in the Makefile's CONFORMANCE_EXCLUDE lines; that
// list is the only one, and it may only shrink.
//
// Knobs (environment): CONFORMANCE_RECORDS (KGO_TEST_RECORDS, default
// 20000), CONFORMANCE_TIMEOUT (the suite's -timeout, default 8m),
// CONFORMANCE_PARALLEL (default 8), CONFORMANCE_RUN (a -run pattern),
// CONFORMANCE_LOG_DIR (keeps the suite's go test -json output),
// CONFORMANCE_SUMMARY (a file that gets one summary line per backend),
// KGO_LOG_LEVEL (the client's log level, default info). Every other top-level test
// must pass: one that skips itself (it found a feature missing) fails the
// run until the feature is served or the test is excluded.
package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// suiteModule is the module whose pkg/kgo tests are run; its version is the
// one caudal's go.mod requires.
const suiteModule = "github.com/twmb/franz-go"

// caudalFlags are the flags of the caudal under test; everything else is
// at its default. A short flush interval keeps the suite's many
// synchronous produces (one flush each) from making it latency-bound;
// behaviour does not depend on the interval.
var caudalFlags = []string{"--flush-interval", "5ms"}

func TestFranzGo(t *testing.T) {
	if testing.Short() {
		t.Skip("franz-go's suite takes minutes")
	}
	excluded := exclusions(t)
	suite, version := copySuite(t)
	for _, b := range backends(t) {
		t.Run(string(b), func(t *testing.T) {
			// A second listener, SASL_PLAINTEXT, serves the suite's
			// SCRAM and OAUTHBEARER tests.
			flags := append(testenv.SASLFlags(t), caudalFlags...)
			listeners := []string{"SASL_PLAINTEXT"}
			var addrs map[string]string
			if b == testenv.Dev {
				_, addrs = testenv.StartDevListeners(t, listeners, flags...)
			} else {
				bucketURL, metadataURL := testenv.StoreURLs(t, b)
				_, addrs = testenv.StartProcessListeners(t, bucketURL, metadataURL, listeners, flags...)
			}
			runSuite(t, suite, version, addrs["PLAINTEXT"], addrs["SASL_PLAINTEXT"], excluded)
		})
	}
}

// backends reads CONFORMANCE_BACKENDS (comma separated; default dev).
func backends(t *testing.T) []testenv.Backend {
	v := os.Getenv("CONFORMANCE_BACKENDS")
	if v == "" {
		return []testenv.Backend{testenv.Dev}
	}
	var out []testenv.Backend
	for _, s := range strings.Split(v, ",") {
		switch b := testenv.Backend(strings.TrimSpace(s)); b {
		case testenv.Dev, testenv.Cloud:
			out = append(out, b)
		default:
			t.Fatalf("CONFORMANCE_BACKENDS: unknown backend %q (want dev or cloud)", s)
		}
	}
	return out
}

// excludeLine is one exclusion in the Makefile:
//
//	CONFORMANCE_EXCLUDE += TestTxnEtl  # transactions: caudal serves none
var excludeLine = regexp.MustCompile(`^CONFORMANCE_EXCLUDE\s*\+?=\s*(\S+)\s*#\s*(\S.*)$`)

// exclusions returns the excluded test names with their reasons. The
// Makefile is the one place they are listed; CONFORMANCE_EXCLUDE (exported
// by make) must agree with it.
func exclusions(t *testing.T) map[string]string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatalf("read the exclusion list: %v", err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(mk))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "CONFORMANCE_EXCLUDE") {
			continue
		}
		m := excludeLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("Makefile: %q: an exclusion is one test name and a # reason", line)
		}
		out[m[1]] = m[2]
	}
	if env, ok := os.LookupEnv("CONFORMANCE_EXCLUDE"); ok {
		names := strings.Fields(env)
		if len(names) != len(out) {
			t.Fatalf("CONFORMANCE_EXCLUDE from the environment (%d tests) differs from the Makefile (%d)", len(names), len(out))
		}
		for _, n := range names {
			if _, ok := out[n]; !ok {
				t.Fatalf("CONFORMANCE_EXCLUDE: %s is not in the Makefile's list", n)
			}
		}
	}
	return out
}

// copySuite copies the franz-go module out of the module cache into a
// writable temporary directory and returns its pkg/kgo directory and the
// module's version.
func copySuite(t *testing.T) (string, string) {
	t.Helper()
	version := requiredVersion(t, suiteModule)
	out, err := exec.Command("go", "mod", "download", "-json", suiteModule+"@"+version).Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v", suiteModule, version, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s@%s: %v %s", suiteModule, version, err, mod.Error)
	}
	dst := filepath.Join(t.TempDir(), "franz-go")
	err = filepath.WalkDir(mod.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mod.Dir, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", mod.Dir, err)
	}
	t.Logf("franz-go %s suite copied from %s", version, mod.Dir)
	return filepath.Join(dst, "pkg", "kgo"), version
}

// requiredVersion is the version of mod that caudal's go.mod requires.
func requiredVersion(t *testing.T, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", mod).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", mod, err)
	}
	return strings.TrimSpace(string(out))
}

// testEvent is one line of `go test -json`.
type testEvent struct {
	Action  string
	Test    string
	Output  string
	Elapsed float64
}

// result is one top-level test of the suite.
type result struct {
	action string // pass, fail, skip; "" when it never finished
	output strings.Builder
}

// runSuite runs the suite against addr and fails t for every top-level
// test that fails or does not finish.
func runSuite(t *testing.T, dir, version, addr, saslAddr string, excluded map[string]string) {
	records := envOr("CONFORMANCE_RECORDS", "20000")
	timeout := envOr("CONFORMANCE_TIMEOUT", "8m")
	args := []string{"test", "-json", "-count=1", "-timeout", timeout, "-parallel", envOr("CONFORMANCE_PARALLEL", "8")}
	if len(excluded) > 0 {
		names := make([]string, 0, len(excluded))
		for n := range excluded {
			names = append(names, regexp.QuoteMeta(n))
		}
		sort.Strings(names)
		args = append(args, "-skip", "^("+strings.Join(names, "|")+")$")
	}
	if run := os.Getenv("CONFORMANCE_RUN"); run != "" {
		args = append(args, "-run", run)
	}
	args = append(args, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOWORK=off",
		"KGO_SEEDS="+addr,
		"KGO_TEST_SCRAM_SEEDS="+saslAddr,
		"KGO_TEST_SCRAM=admin:"+testenv.SASLPassword+":512",
		"KGO_TEST_OAUTH_SEEDS="+saslAddr,
		"KGO_TEST_RF=1",
		"KGO_TEST_RECORDS="+records,
		"KGO_LOG_LEVEL="+envOr("KGO_LOG_LEVEL", "info"),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	t.Logf("go %s (KGO_SEEDS=%s KGO_TEST_RECORDS=%s)", strings.Join(args, " "), addr, records)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	results := map[string]*result{}
	var order []string
	var src io.Reader = stdout
	if dir := os.Getenv("CONFORMANCE_LOG_DIR"); dir != "" {
		// The suite's whole `go test -json` output, for diagnosis.
		f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".json"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		src = io.TeeReader(stdout, f)
	}
	dec := json.NewDecoder(src)
	for {
		var ev testEvent
		if err := dec.Decode(&ev); err != nil {
			if err != io.EOF {
				t.Errorf("read go test -json: %v", err)
				io.Copy(io.Discard, stdout)
			}
			break
		}
		if ev.Test == "" {
			continue
		}
		top, _, sub := strings.Cut(ev.Test, "/")
		r := results[top]
		if r == nil {
			r = &result{}
			results[top] = r
			order = append(order, top)
		}
		if r.output.Len() < 4<<20 {
			r.output.WriteString(ev.Output)
		}
		if !sub {
			switch ev.Action {
			case "pass", "fail", "skip":
				r.action = ev.Action
			}
		}
	}
	waitErr := cmd.Wait()
	elapsed := time.Since(start).Round(time.Second)

	var passed, failed, skipped []string
	for _, name := range order {
		switch r := results[name]; r.action {
		case "pass":
			passed = append(passed, name)
		case "skip":
			// A skip means the suite found a feature missing: serve it
			// or exclude the test with the reason.
			skipped = append(skipped, name)
			t.Errorf("%s: skipped by the suite but not excluded\n%s", name, testenv.Tail(testLines(r.output.String()), 2000))
		default:
			failed = append(failed, name)
			t.Errorf("%s: %s\n%s", name, orUnfinished(r.action), testenv.Tail(testLines(r.output.String()), 6000))
		}
	}
	for name := range excluded {
		if _, ran := results[name]; ran {
			t.Errorf("%s is excluded but ran", name)
		}
	}
	if waitErr != nil && len(failed) == 0 {
		t.Errorf("go test: %v\n%s", waitErr, testenv.Tail(stderr.String(), 4000))
	}
	if len(order) == 0 {
		t.Errorf("the suite ran no tests:\n%s", testenv.Tail(stderr.String(), 4000))
	}
	summary := fmt.Sprintf("franz-go %s suite on %s: %d passed, %d failed, %d skipped, %d excluded; %s",
		version, t.Name(), len(passed), len(failed), len(skipped), len(excluded), elapsed)
	t.Log(summary)
	if len(failed) > 0 {
		t.Logf("failed: %s", strings.Join(failed, " "))
	}
	if len(skipped) > 0 {
		t.Logf("skipped by the suite: %s", strings.Join(skipped, " "))
	}
	if path := os.Getenv("CONFORMANCE_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, summary)
			f.Close()
		}
	}
}

// clientLog matches the kgo client's log lines ("[15:04:05.999 12][INFO] …"),
// which go test attributes to whichever parallel test printed last.
var clientLog = regexp.MustCompile(`^\s*\[\d\d:\d\d:\d\d`)

// testLines drops the client's log lines from a test's output, keeping the
// test's own messages.
func testLines(out string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		if !clientLog.MatchString(line) {
			b.WriteString(line)
		}
	}
	return b.String()
}

func orUnfinished(action string) string {
	if action == "" {
		return "did not finish"
	}
	return action
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
