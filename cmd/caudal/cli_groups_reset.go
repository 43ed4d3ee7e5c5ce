package main

// consumer-groups --reset-offsets: compute new offsets per partition, print
// them, and commit them only with --execute (otherwise a dry run).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

type resetFlags struct {
	topics                    repeated
	allTopics                 bool
	earliest, latest, current bool
	toOffset, shiftBy         string
	execute, dryRun           bool
}

func (r *resetFlags) register(fs *flag.FlagSet) {
	fs.Var(&r.topics, "topic", "reset: topic `T` or T:P,P…; repeatable")
	fs.BoolVar(&r.allTopics, "all-topics", false, "reset: every topic the group has offsets for")
	fs.BoolVar(&r.earliest, "to-earliest", false, "reset to the earliest offset")
	fs.BoolVar(&r.latest, "to-latest", false, "reset to the latest offset")
	fs.BoolVar(&r.current, "to-current", false, "reset to the current committed offset")
	fs.StringVar(&r.toOffset, "to-offset", "", "reset to this `offset` (kept within the partition's range)")
	fs.StringVar(&r.shiftBy, "shift-by", "", "move the committed offset by `N` (may be negative)")
	fs.BoolVar(&r.execute, "execute", false, "commit the new offsets")
	fs.BoolVar(&r.dryRun, "dry-run", false, "only print the new offsets (the default)")
}

func (r *resetFlags) check(fs *flag.FlagSet) error {
	if (len(r.topics) > 0) == r.allTopics {
		return badUsage(fs, "--reset-offsets needs exactly one of --topic, --all-topics")
	}
	if err := exactlyOne(fs, map[string]bool{"to-earliest": r.earliest, "to-latest": r.latest,
		"to-current": r.current, "to-offset": r.toOffset != "", "shift-by": r.shiftBy != ""}); err != nil {
		return err
	}
	for name, v := range map[string]string{"to-offset": r.toOffset, "shift-by": r.shiftBy} {
		if _, err := strconv.ParseInt(v, 10, 64); v != "" && err != nil {
			return badUsage(fs, "--%s: %q is not a number", name, v)
		}
	}
	if r.execute && r.dryRun {
		return badUsage(fs, "--execute and --dry-run are exclusive")
	}
	return nil
}

func (c *groupsCmd) resetOffsets() error {
	ctx, cancel := opContext()
	defer cancel()
	if err := c.checkInactive(ctx); err != nil {
		return err
	}
	committed, err := c.adm.FetchOffsets(ctx, c.group)
	if err != nil {
		return fmt.Errorf("Error: fetch offsets of group '%s': %w", c.group, err)
	}
	scope, err := c.resetScope(ctx, committed)
	if err != nil {
		return err
	}
	target, err := c.newOffsets(ctx, scope, committed)
	if err != nil {
		return err
	}
	if !c.reset.execute && !c.reset.dryRun {
		fmt.Fprintln(os.Stderr, "WARN: No action will be performed as the --execute option is missing. Add --dry-run to keep this behaviour explicitly.")
	}
	if c.reset.execute {
		if err := c.adm.CommitAllOffsets(ctx, c.group, target); err != nil {
			return fmt.Errorf("Error: commit offsets of group '%s': %w", c.group, err)
		}
	}
	fmt.Println()
	tw := newTable("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
	for _, o := range target.Sorted() {
		row(tw, c.group, o.Topic, fmt.Sprint(o.Partition), fmt.Sprint(o.At))
	}
	return tw.Flush()
}

// checkInactive refuses to reset a group that has members, as Kafka does.
func (c *groupsCmd) checkInactive(ctx context.Context) error {
	groups, err := c.adm.DescribeGroups(ctx, c.group)
	if err != nil {
		return err
	}
	g := groups[c.group]
	if g.Err != nil && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		return fmt.Errorf("Error: describe group '%s': %w", c.group, g.Err)
	}
	if g.State != "" && g.State != "Empty" && g.State != "Dead" {
		return fmt.Errorf("Error: Assignments can only be reset if the group '%s' is inactive, but the current state is %s.", c.group, g.State)
	}
	return nil
}

// resetScope lists the partitions to reset.
func (c *groupsCmd) resetScope(ctx context.Context, committed kadm.OffsetResponses) (kadm.TopicsSet, error) {
	scope := kadm.TopicsSet{}
	if c.reset.allTopics {
		committed.Each(func(o kadm.OffsetResponse) { scope.Add(o.Topic, o.Partition) })
		return scope, nil
	}
	for _, spec := range c.reset.topics {
		if err := c.addTopicSpec(ctx, scope, spec); err != nil {
			return nil, err
		}
	}
	return scope, nil
}

// addTopicSpec adds "T" (every partition) or "T:0,2" to scope.
func (c *groupsCmd) addTopicSpec(ctx context.Context, scope kadm.TopicsSet, spec string) error {
	topic, parts, hasParts := strings.Cut(spec, ":")
	if hasParts {
		for _, p := range splitList(parts, ",") {
			n, err := strconv.ParseInt(p, 10, 32)
			if err != nil {
				return fmt.Errorf("Error: bad partition %q in --topic %s", p, spec)
			}
			scope.Add(topic, int32(n))
		}
		return nil
	}
	topics, err := c.adm.ListTopics(ctx, topic)
	if err != nil {
		return err
	}
	d := topics[topic]
	if d.Err != nil {
		return fmt.Errorf("Error: topic '%s' does not exist", topic)
	}
	for p := range d.Partitions {
		scope.Add(topic, p)
	}
	return nil
}

// newOffsets computes the target offset of every partition in scope.
func (c *groupsCmd) newOffsets(ctx context.Context, scope kadm.TopicsSet, committed kadm.OffsetResponses) (kadm.Offsets, error) {
	topics := scope.Topics()
	starts, err := c.adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("Error: list offsets: %w", err)
	}
	ends, err := c.adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("Error: list offsets: %w", err)
	}
	out := kadm.Offsets{}
	for _, tp := range scope.Sorted() {
		for _, p := range tp.Partitions {
			start, _ := starts.Lookup(tp.Topic, p)
			end, _ := ends.Lookup(tp.Topic, p)
			cur, ok := committed.Lookup(tp.Topic, p)
			at := c.reset.target(start.Offset, end.Offset, cur.At, ok && cur.Err == nil && cur.At >= 0)
			out.Add(kadm.Offset{Topic: tp.Topic, Partition: p, At: at, LeaderEpoch: -1})
		}
	}
	return out, nil
}

// target picks the new offset, kept within [start, end] as Kafka does.
func (r *resetFlags) target(start, end, current int64, hasCurrent bool) int64 {
	if !hasCurrent {
		current = end
	}
	var at int64
	switch {
	case r.earliest:
		at = start
	case r.latest:
		at = end
	case r.current:
		at = current
	case r.toOffset != "":
		at, _ = strconv.ParseInt(r.toOffset, 10, 64)
	default:
		n, _ := strconv.ParseInt(r.shiftBy, 10, 64)
		at = current + n
	}
	return max(start, min(at, end))
}
