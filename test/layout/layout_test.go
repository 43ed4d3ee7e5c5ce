// Package layout checks DESIGN.md's import rules on the module's packages
// as `go list` sees them, so that a change that breaks one fails the tests
// rather than waiting for a reviewer to notice.
package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	module = "github.com/caudal/caudal"
	kerr   = "github.com/twmb/franz-go/pkg/kerr"
)

// The rules bind what a package's non-test files import. Test files, and
// the helper packages under test/, may import more: end-to-end tests start
// a real gateway (test/testenv imports it), compaction's tests run
// retention beside it, and tests check Kafka error codes. Nothing at all,
// tests included, imports cmd/.
type rule struct {
	name string
	// breaks reports whether importer may not import imp (import paths).
	breaks func(importer, imp string) bool
}

var noCmd = rule{"nothing imports cmd/", func(_, imp string) bool { return under(imp, "cmd") }}

var rules = []rule{
	noCmd,
	{"only cmd/ imports the root gateway package", func(importer, imp string) bool {
		return imp == module+"/gateway" && !under(importer, "cmd") && !under(importer, "test")
	}},
	{"nothing outside gateway/ and cmd/ imports a package under gateway/", func(importer, imp string) bool {
		return under(imp, "gateway") && !under(importer, "gateway") && !under(importer, "cmd") && !under(importer, "test")
	}},
	{"retention and compaction do not import each other", func(importer, imp string) bool {
		return under(importer, "retention") && under(imp, "compaction") || under(importer, "compaction") && under(imp, "retention")
	}},
	{"segments imports neither metadata nor objstore", func(importer, imp string) bool {
		return importer == module+"/segments" && (under(imp, "metadata") || under(imp, "objstore"))
	}},
	{"objstore, metadata and metadata/topicconfig import no other caudal package", func(importer, imp string) bool {
		switch relative(importer) {
		case "objstore", "metadata", "metadata/topicconfig":
			return inModule(imp)
		}
		return false
	}},
	{"Kafka error codes (kerr) are imported only under gateway/ and cmd/", func(importer, imp string) bool {
		return imp == kerr && !under(importer, "gateway") && !under(importer, "cmd") && !under(importer, "test")
	}},
}

// under reports whether the package path is the module's directory dir or
// below it.
func under(path, dir string) bool {
	dir = module + "/" + dir
	return path == dir || strings.HasPrefix(path, dir+"/")
}

func inModule(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

// relative names a module package by its path from the module root, for
// messages, and leaves other paths alone.
func relative(path string) string {
	if path == module {
		return "."
	}
	if rest, ok := strings.CutPrefix(path, module+"/"); ok {
		return rest
	}
	return path
}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// listPackages runs go list on every package of the module.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json", "./...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("read go list's output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.Error != nil {
			t.Errorf("%s: go list: %s (its imports are not checked)", relative(p.ImportPath), p.Error.Err)
		}
		check := func(imports []string, rs []rule, where string) {
			for _, imp := range imports {
				for _, r := range rs {
					if r.breaks(p.ImportPath, imp) {
						t.Errorf("%s imports %s%s: %s", relative(p.ImportPath), relative(imp), where, r.name)
					}
				}
			}
		}
		check(p.Imports, rules, "")
		check(p.TestImports, []rule{noCmd}, " in its tests")
		check(p.XTestImports, []rule{noCmd}, " in its tests")
	}
}

// The rules catch what DESIGN.md forbids and let through what it allows,
// so that TestImportRules passing means something.
func TestRulesCatchViolations(t *testing.T) {
	c := func(dir string) string { return module + "/" + dir }
	broken := func(importer, imp string) bool {
		for _, r := range rules {
			if r.breaks(importer, imp) {
				return true
			}
		}
		return false
	}
	for _, bad := range [][2]string{
		{c("gateway"), c("cmd/caudal")},
		{c("worker"), c("gateway")},
		{c("gateway/groups"), c("gateway")},
		{c("worker"), c("gateway/writer")},
		{c("segments"), c("gateway/reader")},
		{c("retention"), c("compaction")},
		{c("compaction"), c("retention")},
		{c("segments"), c("metadata")},
		{c("segments"), c("objstore")},
		{c("objstore"), c("segments")},
		{c("metadata"), c("metadata/topicconfig")},
		{c("metadata/topicconfig"), c("metadata")},
		{c("metadata"), kerr},
		{c("worker"), kerr},
	} {
		if !broken(bad[0], bad[1]) {
			t.Errorf("%s importing %s passes the rules", relative(bad[0]), relative(bad[1]))
		}
	}
	for _, good := range [][2]string{
		{c("cmd/caudal"), c("gateway")},
		{c("cmd/caudal"), kerr},
		{c("gateway"), c("gateway/groups")},
		{c("gateway/writer"), c("segments")},
		{c("gateway/groups"), kerr},
		{c("test/testenv"), c("gateway")},
		{c("worker"), c("retention")},
		{c("worker"), c("compaction")},
		{c("compaction"), c("metadata/topicconfig")},
		{c("objstore/objstoretest"), c("objstore")},
		{c("segments"), "github.com/google/uuid"},
		{c("metadata"), "github.com/google/uuid"},
		{c("objstore"), "fmt"},
		{c("metadata/topicconfig"), "strconv"},
	} {
		if broken(good[0], good[1]) {
			t.Errorf("%s importing %s breaks the rules", relative(good[0]), relative(good[1]))
		}
	}
}
