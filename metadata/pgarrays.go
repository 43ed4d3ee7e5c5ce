package metadata

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// A 1,000-partition commit sends its rows to PostgreSQL as arrays, one per
// column (rowSource). pgx encodes a Go slice as an array element by
// element through its codecs, which cost such a commit about a tenth of
// its CPU; column builds the array's binary wire form in one pass
// instead, and wireArrayCodec, registered on every pooled connection,
// sends it as it is.

// wireArray is a one-dimensional PostgreSQL array without NULLs in binary
// wire format.
type wireArray []byte

// wireArrayCodec is an array type's codec that sends a wireArray as it is
// and leaves everything else to the codec it wraps.
type wireArrayCodec struct{ pgtype.Codec }

func (c wireArrayCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(wireArray); ok && format == pgtype.BinaryFormatCode {
		return wireArrayPlan{}
	}
	return c.Codec.PlanEncode(m, oid, format, value)
}

type wireArrayPlan struct{}

func (wireArrayPlan) Encode(value any, buf []byte) ([]byte, error) {
	return append(buf, value.(wireArray)...), nil
}

// registerWireArrays wraps the codecs of the array types column builds.
func registerWireArrays(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	for _, oid := range []uint32{pgtype.UUIDArrayOID, pgtype.TextArrayOID, pgtype.Int2ArrayOID, pgtype.Int4ArrayOID, pgtype.Int8ArrayOID} {
		t, ok := m.TypeForOID(oid)
		if !ok {
			return fmt.Errorf("pgx has no type for array oid %d", oid)
		}
		m.RegisterType(&pgtype.Type{Name: t.Name, OID: oid, Codec: wireArrayCodec{t.Codec}})
	}
	return nil
}

// column is column c of rows as an array of PostgreSQL type t, in binary
// wire format: uuid, text, or smallint, integer and bigint from Go
// integers of any width that fits.
func column(rows [][]any, c int, t string) wireArray {
	switch t {
	case "uuid":
		b := arrayHeader(pgtype.UUIDOID, len(rows), 20*len(rows))
		for _, r := range rows {
			u := r[c].(uuid.UUID)
			b = append(binary.BigEndian.AppendUint32(b, 16), u[:]...)
		}
		return b
	case "text":
		size := 0
		for _, r := range rows {
			size += 4 + len(r[c].(string))
		}
		b := arrayHeader(pgtype.TextOID, len(rows), size)
		for _, r := range rows {
			s := r[c].(string)
			b = append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
		}
		return b
	}
	oid, width := intType(t)
	b := arrayHeader(oid, len(rows), (4+width)*len(rows))
	for _, r := range rows {
		v := integer(r[c], c)
		b = binary.BigEndian.AppendUint32(b, uint32(width))
		switch width {
		case 2:
			if int64(int16(v)) != v {
				panic(fmt.Sprintf("row source column %d: %d is not a smallint", c, v))
			}
			b = binary.BigEndian.AppendUint16(b, uint16(v))
		case 4:
			if int64(int32(v)) != v {
				panic(fmt.Sprintf("row source column %d: %d is not an integer", c, v))
			}
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		default:
			b = binary.BigEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// arrayHeader starts a one-dimensional array of n elements of type elem
// with room for size bytes of elements.
func arrayHeader(elem uint32, n, size int) []byte {
	b := make([]byte, 0, 20+size)
	b = binary.BigEndian.AppendUint32(b, 1) // dimensions
	b = binary.BigEndian.AppendUint32(b, 0) // no NULLs
	b = binary.BigEndian.AppendUint32(b, elem)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return binary.BigEndian.AppendUint32(b, 1) // the first index
}

func intType(t string) (oid uint32, width int) {
	switch t {
	case "smallint":
		return pgtype.Int2OID, 2
	case "integer":
		return pgtype.Int4OID, 4
	case "bigint":
		return pgtype.Int8OID, 8
	}
	panic("row source: no column type " + t)
}

func integer(v any, c int) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	}
	panic(fmt.Sprintf("row source column %d: %T is not an integer", c, v))
}
