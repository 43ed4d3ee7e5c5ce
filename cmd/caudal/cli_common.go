package main

// The Kafka command-line tools built into the binary: `caudal topics`,
// `caudal console-producer`, … or, through a symlink, `kafka-topics.sh`.
// Flags keep Kafka's spellings; errors are one line on stderr, exit code 1,
// and a bad flag exits 2 with the usage.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	defaultBootstrap = "localhost:9092"
	// connectTimeout bounds the first contact with the bootstrap servers.
	connectTimeout = 5 * time.Second
	// requestTimeout bounds one admin operation.
	requestTimeout = 30 * time.Second
)

// tool is one command-line tool; prog is the name it was invoked by.
type tool func(prog string, args []string) error

var tools = map[string]tool{
	"topics":           runTopics,
	"console-producer": runConsoleProducer,
	"console-consumer": runConsoleConsumer,
	"consumer-groups":  runConsumerGroups,
	"configs":          runConfigs,
	"acls":             runACLs,
	"transactions":     runTransactions,
}

// kafkaToolName maps argv[0] (kafka-topics, kafka-topics.sh, …) to a tool.
func kafkaToolName(arg0 string) (string, bool) {
	base := strings.TrimSuffix(filepath.Base(arg0), ".sh")
	name, ok := strings.CutPrefix(base, "kafka-")
	if !ok || tools[name] == nil {
		return "", false
	}
	return name, true
}

// runTool runs the named tool and returns the process exit code.
func runTool(name, prog string, args []string) int {
	err := tools[name](prog, args)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		ue.print()
		return 2
	default:
		fmt.Fprintln(os.Stderr, oneLine(err.Error()))
		return 1
	}
}

// usageError is a command line that makes no sense: exit 2 with the usage.
type usageError struct {
	fs      *flag.FlagSet
	msg     string
	printed bool // the flag package has printed message and usage already
}

func (e *usageError) Error() string { return e.msg }

func (e *usageError) print() {
	if e.printed {
		return
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", e.fs.Name(), e.msg)
	e.fs.Usage()
}

func badUsage(fs *flag.FlagSet, format string, args ...any) error {
	return &usageError{fs: fs, msg: fmt.Sprintf(format, args...)}
}

// connFlags say how a tool reaches the cluster: --bootstrap-server, and
// --command-config, a file of Kafka's client properties (TLS and SASL).
type connFlags struct {
	bootstrap     string
	commandConfig string
}

// newToolFlags returns a flag set with the connection flags registered.
func newToolFlags(prog, summary string) (*flag.FlagSet, *connFlags) {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s %s\n\nflags (- or --):\n", prog, summary)
		fs.PrintDefaults()
	}
	cf := &connFlags{}
	fs.StringVar(&cf.bootstrap, "bootstrap-server", defaultBootstrap, "Kafka `host:port[,host:port]` to connect to")
	fs.StringVar(&cf.commandConfig, "command-config", "", "Kafka client properties `file`: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, … (PEM stores)")
	return fs, cf
}

// properties reads --command-config, then a tool's own properties file
// (--producer.config, --consumer.config; "" for none), then overrides
// (--producer-property, …): a later setting of a key wins.
func (cf *connFlags) properties(toolFile string, overrides map[string]string) (map[string]string, error) {
	props := map[string]string{}
	for _, file := range []string{cf.commandConfig, toolFile} {
		if file == "" {
			continue
		}
		p, err := loadProperties(file)
		if err != nil {
			return nil, err
		}
		maps.Copy(props, p)
	}
	maps.Copy(props, overrides)
	return props, nil
}

// clientProperties is properties for the console tools, whose overrides
// are key=value flags: a malformed one is a usage error of fs.
func (cf *connFlags) clientProperties(fs *flag.FlagSet, toolFile string, overrides []string) (map[string]string, error) {
	m, err := keyValueMap(overrides)
	if err != nil {
		return nil, badUsage(fs, "%v", err)
	}
	return cf.properties(toolFile, m)
}

// parseToolFlags parses args; positional arguments are a usage error.
func parseToolFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{fs: fs, msg: err.Error(), printed: true}
	}
	if fs.NArg() > 0 {
		return badUsage(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// connect checks that a bootstrap server accepts connections and returns a
// client seeded with them, secured as the security properties among
// props say.
func (cf *connFlags) connect(props map[string]string, opts ...kgo.Opt) (*kgo.Client, error) {
	seeds := splitList(cf.bootstrap, ",")
	if len(seeds) == 0 {
		return nil, errors.New("--bootstrap-server is empty")
	}
	security, err := securityOpts(props)
	if err != nil {
		return nil, err
	}
	if err := dialAny(seeds); err != nil {
		return nil, err
	}
	opts = append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.DialTimeout(connectTimeout)}, append(security, opts...)...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("bad client configuration: %w", err)
	}
	// A refused TLS handshake or SASL login shows here, at once, instead
	// of as retries until a produce or consume times out.
	ctx, cancel := opContext()
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// dialAny returns nil as soon as one seed accepts a TCP connection.
func dialAny(seeds []string) error {
	var last error
	for _, s := range seeds {
		c, err := net.DialTimeout("tcp", s, connectTimeout)
		if err == nil {
			c.Close()
			return nil
		}
		last = err
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			last = op.Err
		}
	}
	return fmt.Errorf("could not connect to bootstrap server %s: %v", strings.Join(seeds, ","), last)
}

// opContext bounds one admin operation.
func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), requestTimeout)
}

// splitList splits a list separated by sep, trimming items and dropping
// empty ones.
func splitList(s, sep string) []string {
	var out []string
	for _, part := range strings.Split(s, sep) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// repeated is a flag that may be given several times (--property, --config).
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

// keyValueMap parses k=v items into a map.
func keyValueMap(items []string) (map[string]string, error) {
	m := map[string]string{}
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("invalid property %q: expected key=value", it)
		}
		m[strings.TrimSpace(k)] = v
	}
	return m, nil
}

// exactlyOne reports a usage error unless exactly one of the named actions is set.
func exactlyOne(fs *flag.FlagSet, actions map[string]bool) error {
	var all []string
	n := 0
	for name, on := range actions {
		all = append(all, "--"+name)
		if on {
			n++
		}
	}
	if n != 1 {
		slices.Sort(all)
		return badUsage(fs, "exactly one of %s is required", strings.Join(all, ", "))
	}
	return nil
}

// actions are a tool's mutually exclusive action flags (--create, --list, …).
type actions map[string]*bool

func registerActions(fs *flag.FlagSet, what string, names ...string) actions {
	a := actions{}
	for _, n := range names {
		a[n] = fs.Bool(n, false, strings.ReplaceAll(n, "-", " ")+" "+what)
	}
	return a
}

// chosen returns the one action given, or a usage error.
func (a actions) chosen(fs *flag.FlagSet) (string, error) {
	set := map[string]bool{}
	var name string
	for n, on := range a {
		set[n] = *on
		if *on {
			name = n
		}
	}
	return name, exactlyOne(fs, set)
}

// withClient connects an admin tool's client, configured by
// --command-config, and runs fn.
func (cf *connFlags) withClient(fn func(*kgo.Client) error) error {
	props, err := cf.properties("", nil)
	if err != nil {
		return err
	}
	cl, err := cf.connect(props, kgo.ClientID("caudal-admin"))
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(cl)
}

// withAdmin is withClient for the tools that speak through kadm.
func (cf *connFlags) withAdmin(fn func(*kadm.Client) error) error {
	return cf.withClient(func(cl *kgo.Client) error { return fn(kadm.NewClient(cl)) })
}
