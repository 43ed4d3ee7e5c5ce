package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// BenchmarkProduceSecurity produces over PLAINTEXT and over SASL_SSL
// (TLS 1.3 and SCRAM-SHA-512) to one gateway with Kafka ACLs on, in
// alternating runs of the same workload as BenchmarkProduceThroughput
// (two of each), and then paced at BenchmarkProduceLatency's rate over
// each. Both principals are ordinary users whose WRITE on the topic an
// ACL grants, so every partition of every produce request is authorized
// through the connection's decision cache. It reports each listener's
// throughput and gateway CPU seconds per GB, their ratio (the target:
// TLS costs at most 20% of throughput), record p50/p99, and the share of
// the gateway's CPU profile, taken over SASL_SSL runs, spent deciding
// on ACLs (the target: it does not show).
func BenchmarkProduceSecurity(b *testing.B) {
	const profileFor = 8 * time.Second
	const clients = 4
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	ca := testenv.NewCA(b)
	httpAddr := testenv.FreeAddr(b)
	p, addrs := testenv.StartProcessListeners(b, bucketURL, metadataURL, []string{"SASL_SSL"},
		append(testenv.SecureFlags(b, ca), "--http-listen", httpAddr, "--pprof")...)
	secure := addrs["SASL_SSL"]
	pid := processPid(b, p)
	grantProducers(b, secure, ca, "sec")
	listeners := []struct {
		name string
		addr string
		opts []kgo.Opt
	}{
		{"PLAINTEXT", p.Addr, nil},
		{"SASL_SSL", secure, []kgo.Opt{kgo.DialTLSConfig(ca.ClientTLS(b, "")),
			kgo.SASL(scram.Auth{User: "producer", Pass: testenv.SASLPassword}.AsSha512Mechanism())}},
	}
	for _, l := range listeners { // warm-up, unmeasured
		produceSpread(b, []string{l.addr}, "sec", throughputBytes, clients, l.opts...)
	}
	mbps := map[string][]float64{}
	cpuPerGB := map[string][]float64{}
	b.ResetTimer()
	for range 2 {
		for _, l := range listeners {
			cpu0 := sampleCPU(pid)
			elapsed, records := produceSpread(b, []string{l.addr}, "sec", throughputBytes, clients, l.opts...)
			gb := float64(records*recordSize) / 1e9
			mbps[l.name] = append(mbps[l.name], gb*1e3/elapsed.Seconds())
			cpuPerGB[l.name] = append(cpuPerGB[l.name], sampleCPU(pid).sub(cpu0).gateway/gb)
		}
	}
	b.StopTimer()
	// The profile spans back-to-back SASL_SSL runs, not one: one run is
	// about a second and a half, too few samples at 100 Hz to tell 1%.
	sasl := listeners[1]
	profiled := authorizationShare(b, httpAddr, profileFor)
	for end := time.Now().Add(profileFor); time.Now().Before(end); {
		produceSpread(b, []string{sasl.addr}, "sec", throughputBytes, clients, sasl.opts...)
	}
	authzShare, profiledCPU := profiled()
	plain, tls := mean(mbps["PLAINTEXT"]), mean(mbps["SASL_SSL"])
	ratio := tls / plain
	b.ReportMetric(plain, "plaintext-MB/s")
	b.ReportMetric(tls, "sasl-ssl-MB/s")
	b.ReportMetric(ratio, "ratio")
	report(b, "produce over PLAINTEXT %s MB/s (gateway %s CPU-s/GB), over SASL_SSL %s MB/s (gateway %s CPU-s/GB): SASL_SSL/PLAINTEXT %.2f (target >= 0.80: %s)",
		floats(mbps["PLAINTEXT"]), floats(cpuPerGB["PLAINTEXT"]), floats(mbps["SASL_SSL"]), floats(cpuPerGB["SASL_SSL"]), ratio, verdict(ratio >= 0.8))
	if authzShare >= 0 {
		report(b, "ACL decisions take %.2f%% of the gateway's CPU samples (%s of CPU profiled over %s of SASL_SSL runs; target: not visible, < 1%%: %s)",
			authzShare, profiledCPU, profileFor, verdict(authzShare < 1))
	}
	for _, l := range listeners {
		cl := newProducer(b, l.addr, "sec", append([]kgo.Opt{kgo.ProducerLinger(0)}, l.opts...)...)
		warmUp(b, cl, "sec")
		lats, errs := pacedProduce(b, cl, "sec", latencyRate, latencyDuration/2, nil)
		if errs > 0 {
			b.Errorf("%s: %d produces failed", l.name, errs)
		}
		cl.Close()
		report(b, "record latency over %s, %d rec/s: p50 %.1f ms, p99 %.1f ms", l.name, latencyRate, ms(percentile(lats, 50)), ms(percentile(lats, 99)))
		b.ReportMetric(ms(percentile(lats, 99)), strings.ToLower(l.name)+"-p99-ms")
	}
}

// grantProducers creates user producer and lets it and ANONYMOUS (the
// PLAINTEXT listener's principal) write to topic, as the admin.
func grantProducers(b *testing.B, secure string, ca *testenv.CA, topic string) {
	b.Helper()
	admin := kadm.NewClient(newClient(b, secure, kgo.DialTLSConfig(ca.ClientTLS(b, "")),
		kgo.SASL(scram.Auth{User: "admin", Pass: testenv.SASLPassword}.AsSha512Mechanism())))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "producer", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: testenv.SASLPassword}}); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.CreateTopics(ctx, benchPartitions, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	for _, acls := range []*kadm.ACLBuilder{
		kadm.NewACLs().Allow("User:producer", "User:ANONYMOUS").Topics(topic).Operations(kadm.OpWrite, kadm.OpDescribe),
		kadm.NewACLs().Allow("User:producer", "User:ANONYMOUS").Clusters().Operations(kadm.OpIdempotentWrite),
	} {
		res, err := admin.CreateACLs(ctx, acls)
		if err == nil {
			for _, r := range res {
				err = r.Err
			}
		}
		if err != nil {
			b.Fatalf("create ACLs: %v", err)
		}
	}
}

// authorizationShare profiles the gateway for d while the caller works;
// the returned func waits for the profile and returns the percentage of
// its samples spent in ACL decisions (gateway/acl and the edge's checks),
// or -1 when it could not tell. Only samples under request handling
// count: the Authorizer's poll of the store's ACL version, twice a second
// whatever the load, is how a change reaches every gateway, not a
// decision, and at this profile's 100 Hz its one or two samples would
// read as a percent or more.
func authorizationShare(b *testing.B, httpAddr string, d time.Duration) func() (share float64, profiled string) {
	b.Helper()
	done := make(chan []byte, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", httpAddr, int(d.Seconds())))
		if err != nil {
			b.Logf("profile gateway: %v", err)
			done <- nil
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		done <- data
	}()
	return func() (float64, string) {
		data := <-done
		if data == nil {
			return -1, ""
		}
		path := filepath.Join(b.TempDir(), "gateway.pprof")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Logf("write profile: %v", err)
			return -1, ""
		}
		out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=100000", `-focus=gateway\.\(\*conn\)\.handleFrames`, path).Output()
		if err != nil {
			b.Logf("go tool pprof: %v", err)
			return -1, ""
		}
		if cumShare(out, "gateway.(*conn).handleFrames") == 0 {
			b.Logf("the profile holds no request handling; cannot tell the ACLs' share")
			return -1, ""
		}
		return cumShare(out, "caudal/gateway/acl.", "gateway.(*conn).allowed"), profileTotal(out)
	}
}

// profileTotal is the CPU time a `go tool pprof -top` output covers, from
// its "Showing nodes accounting for X, Y% of TOTAL total" line.
func profileTotal(top []byte) string {
	m := regexp.MustCompile(`of (\S+) total`).FindSubmatch(top)
	if m == nil {
		return "?"
	}
	return string(m[1])
}

// cumShare is the largest cumulative percentage, in `go tool pprof -top
// -cum` output, of a function matching one of the names: the callers'
// share includes their callees'.
func cumShare(top []byte, names ...string) float64 {
	best := 0.0
	sc := bufio.NewScanner(bytes.NewReader(top))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue
		}
		fn := f[len(f)-1]
		for _, n := range names {
			if strings.Contains(fn, n) {
				if v, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64); err == nil {
					best = max(best, v)
				}
			}
		}
	}
	return best
}

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(max(len(xs), 1))
}

func floats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(parts, ", ")
}
