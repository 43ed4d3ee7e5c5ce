// Package objstoretest holds test scaffolding for code that uses an
// objstore.Bucket: a wrapper that injects faults, and a file bucket of its own.
package objstoretest

import (
	"context"
	"fmt"
	"sync"

	"github.com/caudal/caudal/objstore"
)

// Faults wraps a Bucket and makes chosen operations fail, for tests of what
// sits above the store. Injected errors are returned wrapped (with the key
// and "injected fault"), so errors.Is sees the class a test passes, e.g.
// objstore.ErrUnavailable. Without faults it passes every call through. It is safe
// for concurrent use.
type Faults struct {
	inner objstore.Bucket

	mu    sync.Mutex
	rules []faultRule
	hook  func(ctx context.Context, op objstore.Op, key string) error
	calls map[objstore.Op]int
}

type faultRule struct {
	op    objstore.Op
	n     int // calls left
	err   error
	after bool // fail after the inner call ran
}

// NewFaults wraps b.
func NewFaults(b objstore.Bucket) *Faults {
	return &Faults{inner: b, calls: map[objstore.Op]int{}}
}

// FailNext makes the next n calls of op fail with err without reaching the
// bucket. Rules queue up: a second FailNext on the same op applies once the
// first is used up.
func (f *Faults) FailNext(op objstore.Op, n int, err error) { f.add(faultRule{op: op, n: n, err: err}) }

// FailNextAfter makes the next n calls of op reach the bucket and then fail
// with err whatever the bucket answered: a PUT that landed but whose answer
// was lost, say.
func (f *Faults) FailNextAfter(op objstore.Op, n int, err error) {
	f.add(faultRule{op: op, n: n, err: err, after: true})
}

func (f *Faults) add(r faultRule) {
	if r.n <= 0 || r.err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
}

// SetHook calls hook before every operation (for List, key is the prefix);
// an error from it fails the operation without reaching the bucket. A hook
// can block, count or fail selectively. SetHook(nil) removes it. Rules from
// FailNext are checked first.
func (f *Faults) SetHook(hook func(ctx context.Context, op objstore.Op, key string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

// Reset removes all rules and the hook and zeroes the call counts.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules, f.hook, f.calls = nil, nil, map[objstore.Op]int{}
}

// Calls returns how many calls of op the wrapper has seen, failed or not.
func (f *Faults) Calls(op objstore.Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// before counts a call and returns the error to fail it with now, or the
// one to fail it with after the inner call (at most one is non-nil).
func (f *Faults) before(ctx context.Context, op objstore.Op, key string) (now, after error) {
	f.mu.Lock()
	f.calls[op]++
	hook := f.hook
	for i := range f.rules {
		r := &f.rules[i]
		if r.op != op {
			continue
		}
		r.n--
		err, isAfter := r.err, r.after
		if r.n == 0 {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
		}
		f.mu.Unlock()
		err = objstore.OpError(op, key, fmt.Errorf("injected fault: %w", err))
		if isAfter {
			return nil, err
		}
		return err, nil
	}
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, op, key); err != nil {
			return objstore.OpError(op, key, fmt.Errorf("injected fault: %w", err)), nil
		}
	}
	return nil, nil
}

func (f *Faults) Put(ctx context.Context, key string, data []byte) error {
	now, after := f.before(ctx, objstore.OpPut, key)
	if now != nil {
		return now
	}
	if err := f.inner.Put(ctx, key, data); after == nil {
		return err
	}
	return after
}

func (f *Faults) Get(ctx context.Context, key string, buf []byte) ([]byte, error) {
	now, after := f.before(ctx, objstore.OpGet, key)
	if now != nil {
		return nil, now
	}
	data, err := f.inner.Get(ctx, key, buf)
	if after != nil {
		return nil, after
	}
	return data, err
}

func (f *Faults) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	now, after := f.before(ctx, objstore.OpGetRange, key)
	if now != nil {
		return nil, now
	}
	data, err := f.inner.GetRange(ctx, key, off, length)
	if after != nil {
		return nil, after
	}
	return data, err
}

func (f *Faults) Delete(ctx context.Context, key string) error {
	now, after := f.before(ctx, objstore.OpDelete, key)
	if now != nil {
		return now
	}
	if err := f.inner.Delete(ctx, key); after == nil {
		return err
	}
	return after
}

func (f *Faults) List(ctx context.Context, prefix string, fn func(objstore.Attrs) error) error {
	now, after := f.before(ctx, objstore.OpList, prefix)
	if now != nil {
		return now
	}
	if err := f.inner.List(ctx, prefix, fn); after == nil {
		return err
	}
	return after
}

func (f *Faults) Stat(ctx context.Context, key string) (objstore.Attrs, error) {
	now, after := f.before(ctx, objstore.OpStat, key)
	if now != nil {
		return objstore.Attrs{}, now
	}
	a, err := f.inner.Stat(ctx, key)
	if after != nil {
		return objstore.Attrs{}, after
	}
	return a, err
}

// Close closes the wrapped bucket; it cannot be made to fail.
func (f *Faults) Close() error { return f.inner.Close() }

var _ objstore.Bucket = (*Faults)(nil)
