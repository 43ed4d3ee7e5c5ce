package observability

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	alertsFile    = "../../deploy/prometheus/alerts.yml"
	dashboardFile = "../../deploy/grafana/caudal.json"
)

// TestAlertRules parses the alert rules as promtool does and checks that
// the alerts users rely on are there.
func TestAlertRules(t *testing.T) {
	groups, errs := parseRules(t)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", alertsFile, errs)
	}
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
			}
		}
	}
	for _, want := range []string{"CaudalConsumerLagHigh", "UnderReplicatedPartitions", "CaudalRequestRateAnomaly", "CaudalStorageOverBudget", "CaudalFlushErrors"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("%s has no alert %s (has %v)", alertsFile, want, alerts)
		}
	}
	lag := ruleExpr(t, groups, "CaudalConsumerLagHigh")
	if !strings.Contains(lag, "caudal_consumer_group_lag") || !strings.Contains(lag, "> 10000") {
		t.Errorf("lag alert is %q, want caudal_consumer_group_lag > 10000", lag)
	}
}

// TestRulesAndDashboardUseLiveMetrics runs a gateway with a producer and
// a committing consumer group, then checks that every metric the alerts
// and the dashboard query is one the gateway exports.
func TestRulesAndDashboardUseLiveMetrics(t *testing.T) {
	httpAddr := testenv.FreeAddr(t)
	p := testenv.StartDev(t, "--http-listen", httpAddr, "--flush-interval", "20ms")
	produceAndCommit(t, p.Addr)

	names := map[string]string{}
	groups, errs := parseRules(t)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			collectMetrics(t, r.Expr, "alert "+r.Alert+r.Record, names)
		}
	}
	for _, expr := range dashboardExprs(t) {
		collectMetrics(t, expr, "dashboard", names)
	}

	// The lag gauge is refreshed every 10 s.
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams := scrape(t, httpAddr)
		var missing []string
		for name, where := range names {
			if _, ok := fams[name]; !ok {
				missing = append(missing, name+" ("+where+")")
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics queried but not exported: %v", missing)
		}
		time.Sleep(time.Second)
	}
}

// promql is Prometheus' own expression parser, as promtool uses it.
var promql = parser.NewParser(parser.Options{})

func parseRules(t *testing.T) (*rulefmt.RuleGroups, []error) {
	t.Helper()
	return rulefmt.ParseFile(alertsFile, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
}

func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("dashboard has only %d queries", len(exprs))
	}
	return exprs
}

// collectMetrics parses expr and records the metrics it selects, by the
// family name /metrics shows (histogram series without their suffix).
func collectMetrics(t *testing.T, expr, where string, into map[string]string) {
	t.Helper()
	e, err := promql.ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: %q: %v", where, expr, err)
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || strings.Contains(vs.Name, ":") { // recording rules
			return nil
		}
		name := vs.Name
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if strings.HasSuffix(name, suffix) && strings.Contains(name, "duration_seconds") || strings.HasSuffix(name, "_bytes"+suffix) {
				name = strings.TrimSuffix(name, suffix)
			}
		}
		into[name] = where
		return nil
	})
}

func ruleExpr(t *testing.T, groups *rulefmt.RuleGroups, alert string) string {
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Expr
			}
		}
	}
	t.Fatalf("no alert %s", alert)
	return ""
}

// produceAndCommit writes records and consumes half of them in a group
// that commits, so that lag is non-zero.
func produceAndCommit(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("watched"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range 200 {
		cl.Produce(ctx, &kgo.Record{Value: []byte("v")}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("watchers"), kgo.ConsumeTopics("watched"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	fs := cons.PollRecords(pctx, 50)
	if err := pctx.Err(); err != nil {
		t.Fatalf("poll: %v", err)
	}
	if err := cons.CommitRecords(ctx, fs.Records()...); err != nil {
		t.Fatal(err)
	}
}
