package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// fileBucket keeps each object in one file below root. A '/' in a key maps to
// a subdirectory, so the file backend cannot hold both "a" and "a/b" (S3
// can); Put reports such a clash as ErrInvalidKey.
type fileBucket struct {
	root string
}

// tempPrefix starts the names of files a Put is still writing. List skips
// them and no key segment may start with it.
const tempPrefix = ".caudal-tmp-"

// openFile opens (creating it if needed) the directory dir as a bucket.
func openFile(dir string) (*fileBucket, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open file bucket %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("open file bucket %s: %w", dir, err)
	}
	return &fileBucket{root: abs}, nil
}

// check validates key for this backend and returns its file's path.
func (b *fileBucket) check(ctx context.Context, op Op, key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", OpError(op, key, err)
	}
	if strings.HasPrefix(key, tempPrefix) || strings.Contains(key, "/"+tempPrefix) {
		return "", OpError(op, key, fmt.Errorf("key segments starting with %q are reserved: %w", tempPrefix, ErrInvalidKey))
	}
	if err := contextError(ctx); err != nil {
		return "", OpError(op, key, err)
	}
	return filepath.Join(b.root, filepath.FromSlash(key)), nil
}

// fileError classifies an error of the file system: a missing file (or a
// directory where the object would be) is ErrNotFound, a refused one
// ErrDenied, anything else (I/O errors, a full disk) ErrUnavailable.
func fileError(err error) error {
	var class error
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR):
		class = ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		class = ErrDenied
	default:
		class = ErrUnavailable
	}
	return fmt.Errorf("%w: %w", class, err)
}

func (b *fileBucket) Put(ctx context.Context, key string, data []byte) error {
	path, err := b.check(ctx, OpPut, key)
	if err != nil {
		return err
	}
	if err := b.write(path, data); err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) {
			// "a/b" while object "a" exists, or "a" while "a/…" exist.
			return OpError(OpPut, key, fmt.Errorf("key clashes with another key's directory on the file backend: %w: %w", ErrInvalidKey, err))
		}
		return OpError(OpPut, key, fileError(err))
	}
	return nil
}

// write stores data at path atomically and durably: a temporary file in the
// same directory, fsync, rename over path, fsync of the directory (and of
// the parents of directories it had to create).
func (b *fileBucket) write(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, created, err := createTemp(dir)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	// New directories are durable only once their parents are synced.
	for d := dir; created && d != b.root; {
		d = filepath.Dir(d)
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// createTemp creates a temporary file in dir, creating dir if needed. A
// concurrent Delete may remove a just-created empty directory, so it tries
// again a few times.
func createTemp(dir string) (f *os.File, created bool, err error) {
	for range 5 {
		f, err = os.CreateTemp(dir, tempPrefix+"*")
		if !errors.Is(err, fs.ErrNotExist) {
			return f, created, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, created, err
		}
		created = true
	}
	return nil, created, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (b *fileBucket) Get(ctx context.Context, key string, buf []byte) ([]byte, error) {
	f, size, err := b.open(ctx, OpGet, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Objects are written by rename, so the size cannot change under us.
	data, err := readFull(f, size, buf)
	if err != nil {
		return nil, OpError(OpGet, key, fileError(err))
	}
	return data, nil
}

// open opens an object's file for op and returns its size.
func (b *fileBucket) open(ctx context.Context, op Op, key string) (*os.File, int64, error) {
	path, err := b.check(ctx, op, key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, OpError(op, key, fileError(err))
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		err = fileError(err)
	case fi.IsDir():
		err = ErrNotFound
	default:
		return f, fi.Size(), nil
	}
	f.Close()
	return nil, 0, OpError(op, key, err)
}

func (b *fileBucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	f, size, err := b.open(ctx, OpGetRange, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkRange(off, length, size); err != nil {
		return nil, OpError(OpGetRange, key, err)
	}
	buf := make([]byte, length)
	if n, err := f.ReadAt(buf, off); n < len(buf) {
		if err == io.EOF { // truncated under us: no longer that long
			err = fmt.Errorf("%w: object shrank while reading", ErrRange)
		} else {
			err = fileError(err)
		}
		return nil, OpError(OpGetRange, key, err)
	}
	return buf, nil
}

// checkRange reports whether [off, off+length) lies within an object of size
// bytes, wrapping ErrRange if not. An empty range at the very end is fine.
func checkRange(off, length, size int64) error {
	if off < 0 || length < 0 || off > size || length > size-off {
		return fmt.Errorf("%w: %d bytes at offset %d of a %d-byte object", ErrRange, length, off, size)
	}
	return nil
}

func (b *fileBucket) Stat(ctx context.Context, key string) (Attrs, error) {
	path, err := b.check(ctx, OpStat, key)
	if err != nil {
		return Attrs{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Attrs{}, OpError(OpStat, key, fileError(err))
	}
	if !fi.Mode().IsRegular() {
		return Attrs{}, OpError(OpStat, key, ErrNotFound)
	}
	return Attrs{Key: key, Size: fi.Size(), LastModified: fi.ModTime()}, nil
}

func (b *fileBucket) Delete(ctx context.Context, key string) error {
	path, err := b.check(ctx, OpDelete, key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return OpError(OpDelete, key, fileError(err))
	}
	if fi.IsDir() { // only other keys' directory: object key does not exist
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return OpError(OpDelete, key, fileError(err))
	}
	// Remove directories this leaves empty; the first non-empty one stops it.
	for d := filepath.Dir(path); d != b.root; d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// List walks the directory tree depth first. Sorting each directory's
// entries with a directory named "d" taken as "d/" yields the keys in
// lexical order, as S3 lists them: all keys below d share the prefix "d/".
func (b *fileBucket) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	err := b.walk(ctx, b.root, "", prefix, fn)
	var stop fnError
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		return OpError(OpList, prefix, err)
	}
	return nil
}

// fnError carries the error of List's callback out of the walk unchanged.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func (b *fileBucket) walk(ctx context.Context, dir, base, prefix string, fn func(Attrs) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) { // removed by a concurrent Delete
			return nil
		}
		return fileError(err)
	}
	type entry struct {
		key string // the key, or for a directory the prefix of its keys
		de  fs.DirEntry
	}
	sorted := make([]entry, 0, len(entries))
	for _, de := range entries {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			continue
		}
		k := base + de.Name()
		if de.IsDir() {
			k += "/"
		}
		sorted = append(sorted, entry{k, de})
	}
	slices.SortFunc(sorted, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range sorted {
		if err := contextError(ctx); err != nil {
			return err
		}
		switch {
		case e.de.IsDir():
			if strings.HasPrefix(e.key, prefix) || strings.HasPrefix(prefix, e.key) {
				if err := b.walk(ctx, filepath.Join(dir, e.de.Name()), e.key, prefix, fn); err != nil {
					return err
				}
				continue
			}
		case e.de.Type().IsRegular() && strings.HasPrefix(e.key, prefix):
			fi, err := e.de.Info()
			if errors.Is(err, fs.ErrNotExist) { // deleted meanwhile
				continue
			}
			if err != nil {
				return fileError(err)
			}
			if err := fn(Attrs{Key: e.key, Size: fi.Size(), LastModified: fi.ModTime()}); err != nil {
				return fnError{err}
			}
			continue
		}
		if e.key > prefix && !strings.HasPrefix(e.key, prefix) {
			return nil // sorted: nothing further can match
		}
	}
	return nil
}

func (b *fileBucket) Close() error { return nil }
