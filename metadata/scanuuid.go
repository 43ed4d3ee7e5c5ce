package metadata

import (
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// uuidInto scans a UUID column into u on both dialects. Scanned into a
// *uuid.UUID, pgx takes its sql.Scanner: it formats PostgreSQL's 16 binary
// bytes as text for uuid.UUID to parse back, per row, which a
// 1,000-partition commit, reading two rows a partition, paid for twice.
// As a pgtype.UUIDScanner the bytes are copied; SQLite's text still goes
// through uuid.UUID's Scan.
type uuidInto struct{ u *uuid.UUID }

func (d uuidInto) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		return errors.New("scan NULL into a uuid")
	}
	*d.u = v.Bytes
	return nil
}

func (d uuidInto) Scan(src any) error { return d.u.Scan(src) }
