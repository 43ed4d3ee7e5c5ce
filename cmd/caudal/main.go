// Command caudal is the one caudal binary: `caudal dev` runs everything on
// the embedded default (SQLite and a local directory), `caudal gateway`
// serves the Kafka protocol over a bucket and a metadata store.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

const usage = `usage: caudal <command> [flags]

commands:
  dev       one gateway and the worker on SQLite and a local directory (what 'make run' starts)
  gateway   a Kafka protocol gateway over --bucket-url and --metadata-url
  worker    retention, compaction and object GC over --bucket-url and --metadata-url
            (one active per cluster, by lease; others stand by)

Kafka's command-line tools, with Kafka's flags (also run as kafka-topics[.sh],
kafka-console-producer, … through a symlink to this binary):
  topics             create, list, describe, alter and delete topics
  console-producer   produce lines read from stdin
  console-consumer   print records to stdout
  consumer-groups    list, describe, reset offsets of and delete consumer groups
  configs            describe and alter topic and broker configs, and users' SCRAM credentials
  acls               add, remove and list ACLs
  transactions       list and describe transactions, describe producers, abort a hanging transaction

Each takes --command-config FILE, Kafka's client properties (security.protocol,
sasl.mechanism, sasl.jaas.config, ssl.truststore.location, …), to reach
TLS and SASL listeners.

Every flag can also be set through CAUDAL_<FLAG>, e.g. CAUDAL_KAFKA_LISTEN.
Run 'caudal <command> -h' for the command's flags.
`

func main() {
	if tool, ok := kafkaToolName(os.Args[0]); ok {
		os.Exit(runTool(tool, filepath.Base(os.Args[0]), os.Args[1:]))
	}
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
	case "topics", "console-producer", "console-consumer", "consumer-groups", "configs", "acls", "transactions":
		os.Exit(runTool(cmd, "caudal "+cmd, args))
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
