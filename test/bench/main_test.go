// Package bench holds caudal's benchmarks against real MinIO and PostgreSQL.
// Each figure is printed next to a baseline measured in the same run (raw
// MinIO PUT/GET of the same bytes), so ratios stay meaningful across
// machines. Run with `make bench`.
package bench

import (
	"os"
	"testing"

	"github.com/caudal/caudal/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
