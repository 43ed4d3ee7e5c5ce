package reader

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestLargeBuffersAdvisedHuge: a fresh buffer of the MiB classes lies in
// memory advised for huge pages (VmFlags hg in /proc/self/smaps). Small
// buffers are not checked: they may share the advised huge pages.
func TestLargeBuffersAdvisedHuge(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skipf("kernel without transparent huge pages: %v", err)
	}
	// A class no other test uses, and never put back: the others' class
	// checks would be lent it.
	b := getBuf(77 * mib)
	if flags := vmFlags(t, uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))); !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("buffer of 77 MiB in a mapping with VmFlags %q, without hg (MADV_HUGEPAGE)", flags)
	}
}

// vmFlags returns the VmFlags of the mapping in /proc/self/smaps that
// holds addr.
func vmFlags(t *testing.T, addr uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = lo <= addr && addr < hi
			continue
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.TrimSpace(flags)
		}
	}
	t.Fatalf("no mapping in /proc/self/smaps holds %#x (%v)", addr, sc.Err())
	return ""
}
