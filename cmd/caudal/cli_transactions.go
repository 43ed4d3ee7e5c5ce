package main

// caudal transactions (kafka-transactions): list transactions, describe a
// transactional id, describe a partition's producers and abort a hanging
// transaction, with the flags and the tables of Kafka's
// TransactionsCommand. As there, the connection flags come before the
// command and the command's flags after it.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnCommand is one command of the tool: its flags, checked before
// connecting, and what it does with the connected client.
type txnCommand struct {
	summary string
	flags   func(fs *flag.FlagSet) func() error
	run     func(cl *kgo.Client) error
}

// txnCommands are built per invocation: each binds its flags.
func txnCommands() map[string]*txnCommand {
	return map[string]*txnCommand{
		"list":               listTxnsCommand(),
		"describe":           describeTxnCommand(),
		"describe-producers": describeProducersCommand(),
		"abort":              abortTxnCommand(),
	}
}

func runTransactions(prog string, args []string) error {
	cmds := txnCommands()
	names := slices.Sorted(maps.Keys(cmds))
	fs, conn := newToolFlags(prog, "COMMAND [flags]\n\ncommands: "+strings.Join(names, ", ")+"; '"+prog+" COMMAND -h' shows a command's flags")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{fs: fs, msg: err.Error(), printed: true}
	}
	if fs.NArg() == 0 {
		return badUsage(fs, "a command is required: %s", strings.Join(names, ", "))
	}
	cmd, ok := cmds[fs.Arg(0)]
	if !ok {
		return badUsage(fs, "unknown command %q: one of %s", fs.Arg(0), strings.Join(names, ", "))
	}
	sub := flag.NewFlagSet(prog+" "+fs.Arg(0), flag.ContinueOnError)
	sub.Usage = func() {
		fmt.Fprintf(sub.Output(), "usage: %s [--bootstrap-server H:P] [--command-config FILE] %s %s\n\nflags (- or --):\n", prog, fs.Arg(0), cmd.summary)
		sub.PrintDefaults()
	}
	check := cmd.flags(sub)
	if err := parseToolFlags(sub, fs.Args()[1:]); err != nil {
		return err
	}
	if err := check(); err != nil {
		return badUsage(sub, "%v", err)
	}
	return conn.withClient(cmd.run)
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func listTxnsCommand() *txnCommand {
	var duration int64
	return &txnCommand{
		summary: "[--duration-filter MS]",
		flags: func(fs *flag.FlagSet) func() error {
			fs.Int64Var(&duration, "duration-filter", -1, "only transactions running longer than this many `ms` (< 0: all)")
			return func() error { return nil }
		},
		// kadm's ListTransactions has no duration filter, so this sends
		// the request itself, to every broker, as kadm does.
		run: func(cl *kgo.Client) error {
			req := kmsg.NewPtrListTransactionsRequest()
			req.DurationFilterMillis = duration
			ctx, cancel := opContext()
			defer cancel()
			var rows [][]string
			for _, shard := range cl.RequestSharded(ctx, req) {
				resp, _ := shard.Resp.(*kmsg.ListTransactionsResponse)
				err := shard.Err
				if err == nil {
					err = kerr.ErrorForCode(resp.ErrorCode)
				}
				if err != nil {
					return fmt.Errorf("Failed to list transactions: %v", err)
				}
				for _, st := range resp.TransactionStates {
					rows = append(rows, []string{st.TransactionalID, fmt.Sprint(shard.Meta.NodeID), fmt.Sprint(st.ProducerID), st.TransactionState})
				}
			}
			slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
			return prettyPrintTable(os.Stdout, []string{"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}, rows)
		},
	}
}

func describeTxnCommand() *txnCommand {
	var id string
	return &txnCommand{
		summary: "--transactional-id ID",
		flags: func(fs *flag.FlagSet) func() error {
			fs.StringVar(&id, "transactional-id", "", "the transactional `id`")
			return func() error { return required(fs, "transactional-id") }
		},
		run: func(cl *kgo.Client) error {
			ctx, cancel := opContext()
			defer cancel()
			described, err := kadm.NewClient(cl).DescribeTransactions(ctx, id)
			d, ok := described[id]
			switch {
			case err == nil && !ok:
				err = errors.New("no answer")
			case err == nil:
				err = d.Err
			}
			if err != nil {
				return fmt.Errorf("Failed to describe transaction state of transactional-id `%s`: %v", id, err)
			}
			start, duration := "None", "None"
			if d.StartTimestamp >= 0 {
				start, duration = fmt.Sprint(d.StartTimestamp), fmt.Sprint(time.Now().UnixMilli()-d.StartTimestamp)
			}
			var parts []string
			for _, tp := range d.Topics.Sorted() {
				for _, p := range tp.Partitions {
					parts = append(parts, fmt.Sprintf("%s-%d", tp.Topic, p))
				}
			}
			return prettyPrintTable(os.Stdout, []string{"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
				"TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"},
				[][]string{{fmt.Sprint(d.Coordinator), id, fmt.Sprint(d.ProducerID), fmt.Sprint(d.ProducerEpoch), d.State,
					fmt.Sprint(d.TimeoutMillis), start, duration, strings.Join(parts, ",")}})
		},
	}
}

// required reports the first of names that was not given.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if !isSet(fs, n) {
			return fmt.Errorf("missing required argument --%s", n)
		}
	}
	return nil
}

// prettyPrintTable is Kafka's ToolsUtils.prettyPrintTable: every cell
// padded to its column's width and followed by a tab.
func prettyPrintTable(w io.Writer, headers []string, rows [][]string) error {
	widths := make([]int, len(headers))
	for _, r := range append([][]string{headers}, rows...) {
		for i, cell := range r {
			widths[i] = max(widths[i], len(cell))
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{headers}, rows...) {
		for i, cell := range r {
			b.WriteString(cell + strings.Repeat(" ", widths[i]-len(cell)) + "\t")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
