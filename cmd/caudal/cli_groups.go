package main

// caudal consumer-groups (kafka-consumer-groups): list, describe with lag,
// reset offsets, delete.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

type groupsCmd struct {
	adm   *kadm.Client
	group string
	reset resetFlags
}

func runConsumerGroups(prog string, args []string) error {
	fs, conn := newToolFlags(prog, "--list | --describe --group G | --reset-offsets --group G … | --delete --group G")
	acts := registerActions(fs, "consumer groups", "list", "describe", "reset-offsets", "delete")
	var c groupsCmd
	fs.StringVar(&c.group, "group", "", "the consumer group `id`")
	c.reset.register(fs)
	if err := parseToolFlags(fs, args); err != nil {
		return err
	}
	action, err := c.check(fs, acts)
	if err != nil {
		return err
	}
	return conn.withAdmin(func(adm *kadm.Client) error {
		c.adm = adm
		switch action {
		case "list":
			return c.list()
		case "describe":
			return c.describe()
		case "reset-offsets":
			return c.resetOffsets()
		default:
			return c.delete()
		}
	})
}

func (c *groupsCmd) check(fs *flag.FlagSet, acts actions) (string, error) {
	action, err := acts.chosen(fs)
	switch {
	case err != nil:
		return "", err
	case action != "list" && c.group == "":
		return "", badUsage(fs, "missing required argument --group")
	case action == "reset-offsets":
		return action, c.reset.check(fs)
	}
	return action, nil
}

func (c *groupsCmd) list() error {
	ctx, cancel := opContext()
	defer cancel()
	groups, err := c.adm.ListGroups(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups.Sorted() {
		fmt.Println(g.Group)
	}
	return nil
}

func (c *groupsCmd) describe() error {
	ctx, cancel := opContext()
	defer cancel()
	lags, err := c.adm.Lag(ctx, c.group)
	if err != nil {
		return err
	}
	l := lags[c.group]
	if errors.Is(l.DescribeErr, kerr.GroupIDNotFound) {
		l.DescribeErr, l.State = nil, "Dead"
	}
	if l.DescribeErr != nil || l.FetchErr != nil {
		return fmt.Errorf("Error: could not describe consumer group '%s': %v", c.group, errors.Join(l.DescribeErr, l.FetchErr))
	}
	if l.State == "Dead" || (len(l.Lag) == 0 && len(l.Members) == 0) {
		return fmt.Errorf("Error: Consumer group '%s' does not exist.", c.group)
	}
	if len(l.Members) == 0 {
		fmt.Printf("\nConsumer group '%s' has no active members.\n", c.group)
	}
	fmt.Println()
	tw := newTable("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")
	for _, m := range l.Lag.Sorted() {
		current, end, lag := "-", "-", "-"
		if m.Commit.At >= 0 {
			current = fmt.Sprint(m.Commit.At)
		}
		if m.End.Err == nil {
			end = fmt.Sprint(m.End.Offset)
		}
		if m.Err == nil && m.Commit.At >= 0 {
			lag = fmt.Sprint(m.Lag)
		}
		id, host, client := "-", "-", "-"
		if m.Member != nil {
			id, host, client = m.Member.MemberID, m.Member.ClientHost, m.Member.ClientID
		}
		row(tw, c.group, m.Topic, fmt.Sprint(m.Partition), current, end, lag, id, host, client)
	}
	return tw.Flush()
}

func (c *groupsCmd) delete() error {
	ctx, cancel := opContext()
	defer cancel()
	resp, err := c.adm.DeleteGroup(ctx, c.group)
	if err != nil {
		return fmt.Errorf("Error: Deletion of consumer group '%s' failed: %v", c.group, serverError(err, resp.ErrMessage))
	}
	fmt.Printf("Deletion of requested consumer groups ('%s') was successful.\n", c.group)
	return nil
}

// newTable starts a table on stdout with the given header.
func newTable(header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	row(tw, header...)
	return tw
}

func row(tw *tabwriter.Writer, cells ...string) {
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}
