package main

// caudal topics (kafka-topics): create, list, describe, alter, delete.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type topicsCmd struct {
	adm         *kadm.Client
	topic       string
	partitions  int
	replication int
	configs     repeated
	ifExists    bool
	ifNotExists bool
}

func runTopics(prog string, args []string) error {
	fs, conn := newToolFlags(prog, "--create|--list|--describe|--alter|--delete [--topic T] [flags]")
	acts := registerActions(fs, "topics", "create", "list", "describe", "alter", "delete")
	var c topicsCmd
	fs.StringVar(&c.topic, "topic", "", "the topic `name`")
	fs.IntVar(&c.partitions, "partitions", -1, "partition count (create: default num.partitions; alter: the new, larger count)")
	fs.IntVar(&c.replication, "replication-factor", -1, "replication factor (create; default default.replication.factor)")
	fs.Var(&c.configs, "config", "topic config `key=value` (create); repeatable")
	fs.BoolVar(&c.ifExists, "if-exists", false, "alter, describe or delete only if the topic exists")
	fs.BoolVar(&c.ifNotExists, "if-not-exists", false, "create only if the topic does not exist")
	fs.Bool("exclude-internal", false, "accepted for compatibility; caudal has no internal topics")
	if err := parseToolFlags(fs, args); err != nil {
		return err
	}
	action, err := acts.chosen(fs)
	if err != nil {
		return err
	}
	if c.topic == "" && (action == "create" || action == "alter" || action == "delete") {
		return badUsage(fs, "missing required argument --topic")
	}
	if action == "alter" && c.partitions < 1 {
		return badUsage(fs, "--alter needs --partitions N")
	}
	return conn.withAdmin(func(adm *kadm.Client) error {
		c.adm = adm
		if err := c.run(action); err != nil && err != errSkip {
			return fmt.Errorf("Error while executing topic command : %s", err)
		}
		return nil
	})
}

func (c *topicsCmd) run(action string) error {
	switch action {
	case "create":
		return c.create()
	case "list":
		return c.list()
	case "describe":
		return c.describe()
	case "alter":
		return c.alter()
	default:
		return c.delete()
	}
}

func (c *topicsCmd) create() error {
	kv, err := keyValueMap(c.configs)
	if err != nil {
		return err
	}
	configs := map[string]*string{}
	for k, v := range kv {
		configs[k] = &v
	}
	ctx, cancel := opContext()
	defer cancel()
	resp, err := c.adm.CreateTopic(ctx, int32(c.partitions), int16(c.replication), configs, c.topic)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		if c.ifNotExists {
			return nil
		}
		return fmt.Errorf("Topic '%s' already exists.", c.topic)
	}
	if err != nil {
		return serverError(err, resp.ErrMessage)
	}
	fmt.Printf("Created topic %s.\n", c.topic)
	return nil
}

func (c *topicsCmd) list() error {
	ctx, cancel := opContext()
	defer cancel()
	topics, err := c.adm.ListTopics(ctx)
	if err != nil {
		return err
	}
	for _, name := range topics.Names() {
		fmt.Println(name)
	}
	return nil
}

func (c *topicsCmd) alter() error {
	if err := c.mustExist(); err != nil {
		return err
	}
	ctx, cancel := opContext()
	defer cancel()
	resps, err := c.adm.UpdatePartitions(ctx, c.partitions, c.topic)
	if err != nil {
		return err
	}
	if r := resps[c.topic]; r.Err != nil {
		return serverError(r.Err, r.ErrMessage)
	}
	fmt.Println("Adding partitions succeeded!")
	return nil
}

func (c *topicsCmd) delete() error {
	if err := c.mustExist(); err != nil {
		return err
	}
	ctx, cancel := opContext()
	defer cancel()
	resp, err := c.adm.DeleteTopic(ctx, c.topic)
	if err != nil {
		return serverError(err, resp.ErrMessage)
	}
	fmt.Printf("Deleted topic %s.\n", c.topic)
	return nil
}

// mustExist returns an error when the topic is unknown: errSkip with
// --if-exists, which makes the command a no-op.
func (c *topicsCmd) mustExist() error {
	ctx, cancel := opContext()
	defer cancel()
	topics, err := c.adm.ListTopics(ctx, c.topic)
	if err != nil {
		return err
	}
	if d := topics[c.topic]; d.Err != nil {
		return c.absent(d.Err)
	}
	return nil
}

var errSkip = errors.New("skip")

func (c *topicsCmd) absent(err error) error {
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return err
	}
	if c.ifExists {
		return errSkip
	}
	return fmt.Errorf("Topic '%s' does not exist as expected", c.topic)
}

// serverError prefers the broker's own message, as Kafka's tools print it.
func serverError(err error, msg string) error {
	if msg == "" {
		return err
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return errors.New(msg)
}

func (c *topicsCmd) describe() error {
	ctx, cancel := opContext()
	defer cancel()
	var names []string
	if c.topic != "" {
		names = []string{c.topic}
	}
	topics, err := c.adm.ListTopics(ctx, names...)
	if err != nil {
		return err
	}
	if d, ok := topics[c.topic]; ok && d.Err != nil {
		return c.absent(d.Err)
	}
	configs, err := c.adm.DescribeTopicConfigs(ctx, topics.Names()...)
	if err != nil {
		return err
	}
	for _, d := range topics.Sorted() {
		printTopic(d, topicConfigs(configs, d.Topic))
	}
	return nil
}

// topicConfigs lists the topic's configs that are not Kafka's defaults.
func topicConfigs(rcs kadm.ResourceConfigs, topic string) string {
	var out []string
	for _, rc := range rcs {
		if rc.Name != topic {
			continue
		}
		for _, cfg := range rc.Configs {
			if cfg.Source != kmsg.ConfigSourceDefaultConfig && cfg.Value != nil {
				out = append(out, cfg.Key+"="+*cfg.Value)
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func printTopic(d kadm.TopicDetail, configs string) {
	parts := d.Partitions.Sorted()
	rf := 0
	if len(parts) > 0 {
		rf = len(parts[0].Replicas)
	}
	fmt.Printf("Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
		d.Topic, base64.RawURLEncoding.EncodeToString(d.ID[:]), len(parts), rf, configs)
	for _, p := range parts {
		fmt.Printf("\tTopic: %s\tPartition: %d\tLeader: %d\tReplicas: %s\tIsr: %s\n",
			d.Topic, p.Partition, p.Leader, joinInt32(p.Replicas), joinInt32(p.ISR))
	}
}

func joinInt32(xs []int32) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
