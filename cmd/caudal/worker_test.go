package main

import (
	"flag"
	"log/slog"
	"strings"
	"testing"

	"github.com/caudal/caudal/worker/job"
)

func TestWorkerPartitionsAtOnce(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want int
		err  string
	}{
		{nil, job.DefaultParallel, ""},
		{[]string{"--partitions-at-once", "16"}, 16, ""},
		{[]string{"--partitions-at-once", "0"}, 0, "--partitions-at-once 0: want at least 1"},
	} {
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		var f workerFlags
		f.register(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.config(nil, nil, nil, slog.New(slog.DiscardHandler))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: err %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || cfg.Parallel != c.want {
			t.Errorf("%v: Parallel %d, err %v; want %d", c.args, cfg.Parallel, err, c.want)
		}
	}
}
