package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// DecompressLimit caps what one batch's records may inflate to when a
// caller passes no cap of its own, so forgetting one never means
// "unbounded". It is 64 times Kafka's default max.message.bytes (1 MiB):
// no client batch comes near it, while a 1 MiB zip bomb, which gzip or
// zstd can make expand a thousandfold, stops after 64 MiB of work.
const DecompressLimit = 64 << 20

// xerialMagic starts snappy data framed the way Java clients (snappy-java)
// write it: magic, version int32, compatible version int32, then blocks
// each prefixed by a big-endian int32 length.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

// zstdMaxWindow bounds the history a zstd frame may ask the decoder to
// keep, which the decoder allocates before inflating anything. Streaming
// encoders (zstd-jni up to level 19) declare windows up to 8 MiB whatever
// the input size; franz-go declares 64 KiB and librdkafka the input size.
const zstdMaxWindow = 8 << 20

// snappyMaxExpansion bounds what a standard snappy block can decode to:
// its largest element, a 3-byte copy, writes 64 bytes. A block claiming
// more than this many times its size is lying, and is refused before the
// claimed length is allocated.
const snappyMaxExpansion = 22

// maxPooledSnappy is the largest snappy decode buffer kept for reuse, so
// that one huge block does not stay pinned in the pool.
const maxPooledSnappy = 4 << 20

// inflater streams the decompressed records of one batch. Each is pooled
// with its codec state (windows, tables, block buffers), so validating a
// batch allocates no decoder.
type inflater interface {
	io.Reader
	// reset starts on src, allowing at most limit decompressed bytes
	// where the codec would otherwise allocate a claimed size up front.
	reset(src []byte, limit int) error
	// release drops src before the inflater goes back to its pool.
	release()
}

var inflaters = [...]sync.Pool{
	CodecGzip:   {New: func() any { return new(gzipInflater) }},
	CodecSnappy: {New: func() any { return new(snappyInflater) }},
	CodecLZ4:    {New: func() any { return &lz4Inflater{zr: lz4.NewReader(nil)} }},
	CodecZstd:   {New: func() any { return newZstdInflater() }},
}

// openInflater returns a pooled inflater of codec reading src; give it
// back with closeInflater.
func openInflater(codec Codec, src []byte, limit int) (inflater, error) {
	if codec <= CodecNone || codec > CodecZstd {
		return nil, fmt.Errorf("decompress records: attribute codec %d: %w", int8(codec), ErrUnsupportedCodec)
	}
	in := inflaters[codec].Get().(inflater)
	if err := in.reset(src, limit); err != nil {
		closeInflater(codec, in)
		return nil, inflateError(codec, limit, err)
	}
	return in, nil
}

func closeInflater(codec Codec, in inflater) {
	in.release()
	inflaters[codec].Put(in)
}

// inflateError types a codec's error: a cap reached is ErrTooLarge, and
// anything else means the payload is not what its codec flag says.
func inflateError(codec Codec, limit int, err error) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("decompress %s records (limit %d bytes): %w", codec, limit, err)
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return fmt.Errorf("decompress %s records (window limit %d bytes): %v: %w", codec, zstdMaxWindow, err, ErrTooLarge)
	}
	return fmt.Errorf("decompress %s records: %v: %w", codec, err, ErrCorruptBatch)
}

// endOfInput is what an inflater returns at the end of its stream: io.EOF
// if the codec used all of src, so that bytes a client appended after the
// compressed data, which some consumers' decoders reject, are caught.
func endOfInput(src *bytes.Reader) error {
	if n := src.Len(); n > 0 {
		return fmt.Errorf("%d bytes after the compressed data", n)
	}
	return io.EOF
}

// decompress returns the records section of a batch, inflating at most
// limit bytes (limit <= 0 means DecompressLimit) into a new buffer.
func decompress(codec Codec, src []byte, limit int) ([]byte, error) {
	if codec == CodecNone {
		return src, nil
	}
	limit = decompressLimit(limit)
	in, err := openInflater(codec, src, limit)
	if err != nil {
		return nil, err
	}
	defer closeInflater(codec, in)
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(in, int64(limit)+1))
	if err == nil && n > int64(limit) {
		err = ErrTooLarge
	}
	if err != nil {
		return nil, inflateError(codec, limit, err)
	}
	return buf.Bytes(), nil
}

func decompressLimit(limit int) int {
	if limit <= 0 {
		return DecompressLimit
	}
	return limit
}

type gzipInflater struct {
	src bytes.Reader
	zr  gzip.Reader
}

// reset reads the gzip header, so a payload that is not gzip fails here.
func (z *gzipInflater) reset(src []byte, _ int) error {
	z.src.Reset(src)
	return z.zr.Reset(&z.src)
}

func (z *gzipInflater) Read(p []byte) (int, error) {
	n, err := z.zr.Read(p)
	if err == io.EOF {
		err = endOfInput(&z.src)
	}
	return n, err
}

func (z *gzipInflater) release() { z.src.Reset(nil) }

type lz4Inflater struct {
	src bytes.Reader
	zr  *lz4.Reader
}

func (z *lz4Inflater) reset(src []byte, _ int) error {
	z.src.Reset(src)
	z.zr.Reset(&z.src)
	return nil
}

func (z *lz4Inflater) Read(p []byte) (int, error) {
	n, err := z.zr.Read(p)
	if err == io.EOF {
		err = endOfInput(&z.src)
	}
	return n, err
}

func (z *lz4Inflater) release() { z.src.Reset(nil) }

type zstdInflater struct {
	src bytes.Reader
	zd  *zstd.Decoder
}

// newZstdInflater makes a synchronous streaming decoder (concurrency 1
// starts no goroutines, so a pooled one needs no Close). It is given a
// bytes.Reader rather than a buffer, which it would decode whole.
func newZstdInflater() *zstdInflater {
	zd, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindow))
	if err != nil {
		panic(fmt.Sprintf("segments: zstd decoder options: %v", err)) // constant options
	}
	return &zstdInflater{zd: zd}
}

func (z *zstdInflater) reset(src []byte, _ int) error {
	z.src.Reset(src)
	return z.zd.Reset(&z.src)
}

func (z *zstdInflater) Read(p []byte) (int, error) {
	n, err := z.zd.Read(p)
	if err == io.EOF {
		err = endOfInput(&z.src)
	}
	return n, err
}

func (z *zstdInflater) release() { z.src.Reset(nil) }

// snappyInflater decodes raw snappy (one block: the whole payload) or
// xerial-framed snappy (a block at a time). The standard block format has
// no streaming decoder, so each block is decoded whole into a reused
// buffer, its claimed size checked first. Decoding is strict: snappy-java
// and librdkafka reject s2's extensions, so a batch using them would stop
// their consumers.
type snappyInflater struct {
	src    []byte // blocks not yet decoded
	xerial bool
	out    []byte // decoded bytes not yet read, in buf
	buf    []byte
	limit  int // decoded bytes still allowed
}

func (z *snappyInflater) reset(src []byte, limit int) error {
	z.src, z.xerial, z.out, z.limit = src, false, nil, limit
	if bytes.HasPrefix(src, xerialMagic) {
		if len(src) < xerialHeaderSize {
			return fmt.Errorf("xerial header: %d bytes, need %d", len(src), xerialHeaderSize)
		}
		z.src, z.xerial = src[xerialHeaderSize:], true
	}
	return nil
}

func (z *snappyInflater) Read(p []byte) (int, error) {
	for len(z.out) == 0 {
		if len(z.src) == 0 {
			return 0, io.EOF
		}
		if err := z.decodeBlock(); err != nil {
			return 0, err
		}
	}
	n := copy(p, z.out)
	z.out = z.out[n:]
	return n, nil
}

// decodeBlock decodes the next block into buf.
func (z *snappyInflater) decodeBlock() error {
	block, err := z.nextBlock()
	if err != nil {
		return err
	}
	n, err := snappy.DecodedLen(block)
	switch {
	case err != nil:
		return err
	case n > z.limit:
		return fmt.Errorf("snappy block claims %d bytes, %d allowed: %w", n, z.limit, ErrTooLarge)
	case n > snappyMaxExpansion*len(block):
		return fmt.Errorf("snappy block of %d bytes claims %d", len(block), n)
	}
	z.limit -= n
	if cap(z.buf) < n {
		z.buf = make([]byte, n)
	}
	z.out, err = snappy.DecodeStrict(z.buf[:n], block)
	return err
}

// nextBlock takes the next block off src: all of it for raw snappy, one
// length-prefixed block for xerial.
func (z *snappyInflater) nextBlock() ([]byte, error) {
	if !z.xerial {
		block := z.src
		z.src = nil
		return block, nil
	}
	if len(z.src) < 4 {
		return nil, fmt.Errorf("xerial block length truncated: %d bytes left", len(z.src))
	}
	n := binary.BigEndian.Uint32(z.src)
	if uint64(n) > uint64(len(z.src)-4) {
		return nil, fmt.Errorf("xerial block claims %d bytes, %d remain", n, len(z.src)-4)
	}
	block := z.src[4 : 4+n]
	z.src = z.src[4+n:]
	return block, nil
}

func (z *snappyInflater) release() {
	z.src, z.out = nil, nil
	if cap(z.buf) > maxPooledSnappy {
		z.buf = nil
	}
}
