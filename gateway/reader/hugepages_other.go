//go:build !linux

package reader

// adviseHugePages does nothing where MADV_HUGEPAGE does not exist.
func adviseHugePages([]byte) {}
