package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// xerialMagic starts snappy data framed the way Java clients (snappy-java)
// write it: magic, version int32, compatible version int32, then blocks
// each prefixed by a big-endian int32 length.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

// zstdMinWindow lets through frames whose declared window exceeds a small
// cap but whose content does not: streaming encoders (zstd-jni) declare
// windows up to 8 MiB whatever the input size.
const zstdMinWindow = 8 << 20

// decompress returns the records section of a batch, inflating at most
// limit bytes (limit <= 0 means defaultDecompressLimit).
func decompress(codec Codec, src []byte, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = defaultDecompressLimit
	}
	var (
		out []byte
		err error
	)
	switch codec {
	case CodecNone:
		return src, nil
	case CodecGzip:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(src)); err == nil {
			out, err = readCapped(zr, limit)
		}
	case CodecSnappy:
		out, err = unsnappy(src, limit)
	case CodecLZ4:
		out, err = readCapped(lz4.NewReader(bytes.NewReader(src)), limit)
	case CodecZstd:
		out, err = unzstd(src, limit)
	default:
		return nil, fmt.Errorf("decompress records: attribute codec %d: %w", int8(codec), ErrUnsupportedCodec)
	}
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, fmt.Errorf("decompress %s records (limit %d bytes): %w", codec, limit, err)
	case err != nil:
		return nil, fmt.Errorf("decompress %s records: %v: %w", codec, err, ErrCorruptBatch)
	}
	return out, nil
}

func unzstd(src []byte, limit int) ([]byte, error) {
	zd, err := zstd.NewReader(bytes.NewReader(src),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(uint64(min(max(limit, zstdMinWindow), zstd.MaxWindowSize))))
	if err != nil {
		return nil, err
	}
	defer zd.Close()
	out, err := readCapped(zd, limit)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return nil, fmt.Errorf("%v: %w", err, ErrTooLarge)
	}
	return out, err
}

// readCapped reads r to the end, failing with ErrTooLarge past limit bytes.
func readCapped(r io.Reader, limit int) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if n > int64(limit) {
		return nil, ErrTooLarge
	}
	return buf.Bytes(), nil
}

// unsnappy decodes raw snappy or xerial-framed snappy. Block sizes are read
// from their headers and summed against limit before anything is allocated.
func unsnappy(src []byte, limit int) ([]byte, error) {
	blocks := [][]byte{src}
	if bytes.HasPrefix(src, xerialMagic) {
		var err error
		if blocks, err = xerialBlocks(src); err != nil {
			return nil, err
		}
	}
	total := 0
	for _, b := range blocks {
		n, err := snappy.DecodedLen(b)
		if err != nil {
			return nil, err
		}
		if total += n; total > limit {
			return nil, ErrTooLarge
		}
	}
	out := make([]byte, 0, total)
	for _, b := range blocks {
		n, _ := snappy.DecodedLen(b)
		if _, err := snappy.Decode(out[len(out):len(out)+n], b); err != nil {
			return nil, err
		}
		out = out[:len(out)+n]
	}
	return out, nil
}

func xerialBlocks(src []byte) ([][]byte, error) {
	if len(src) < xerialHeaderSize {
		return nil, fmt.Errorf("xerial header: %d bytes, need %d", len(src), xerialHeaderSize)
	}
	var blocks [][]byte
	for pos := xerialHeaderSize; pos < len(src); {
		if len(src)-pos < 4 {
			return nil, fmt.Errorf("xerial block length at byte %d truncated", pos)
		}
		n := binary.BigEndian.Uint32(src[pos:])
		pos += 4
		if uint64(n) > uint64(len(src)-pos) {
			return nil, fmt.Errorf("xerial block at byte %d claims %d bytes, %d remain", pos, n, len(src)-pos)
		}
		blocks = append(blocks, src[pos:pos+int(n)])
		pos += int(n)
	}
	return blocks, nil
}
