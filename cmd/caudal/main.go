// Command caudal is the one caudal binary: `caudal dev` runs everything on
// the embedded default (SQLite and a local directory), `caudal gateway`
// serves the Kafka protocol over a bucket and a metadata store.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: caudal <command> [flags]

commands:
  dev       one gateway and the worker on SQLite and a local directory (what 'make run' starts)
  gateway   a Kafka protocol gateway over --bucket-url and --metadata-url
  worker    retention, compaction and object GC over --bucket-url and --metadata-url
            (one active per cluster, by lease; others stand by)

Every flag can also be set through CAUDAL_<FLAG>, e.g. CAUDAL_KAFKA_LISTEN.
Run 'caudal <command> -h' for the command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "dev":
		err = runDev(args)
	case "gateway":
		err = runGateway(args)
	case "worker":
		err = runWorker(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "caudal: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "caudal: %v\n", err)
		os.Exit(1)
	}
}
