// Package deploy holds no code: its test checks the deployment files that
// cannot be run here (no Docker engine, no Kubernetes) against the binary
// they deploy, so a renamed flag or a missing service fails the build.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/caudal/caudal/test/testenv"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		DependsOn   any               `yaml:"depends_on"`
	} `yaml:"services"`
}

func TestComposeServices(t *testing.T) {
	var c compose
	readYAML(t, "docker-compose.yml", &c)
	for _, name := range []string{"minio", "minio-init", "postgres", "gateway-1", "gateway-2", "gateway-3", "worker", "kafka-ui", "prometheus"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no service %q", name)
		}
	}
	var advertised []string
	for _, name := range []string{"gateway-1", "gateway-2", "gateway-3"} {
		s := c.Services[name]
		env := s.Environment
		for _, k := range []string{"CAUDAL_BUCKET_URL", "CAUDAL_METADATA_URL", "CAUDAL_KAFKA_LISTEN", "CAUDAL_ADVERTISE", "AWS_ACCESS_KEY_ID"} {
			if env[k] == "" {
				t.Errorf("%s: %s is not set", name, k)
			}
		}
		port := env["CAUDAL_KAFKA_LISTEN"][strings.LastIndex(env["CAUDAL_KAFKA_LISTEN"], ":")+1:]
		if !slices.Contains(s.Ports, port+":"+port) {
			t.Errorf("%s listens on %s but publishes %v", name, port, s.Ports)
		}
		if !strings.HasSuffix(env["CAUDAL_ADVERTISE"], ":"+port) {
			t.Errorf("%s advertises %s, not its listen port %s", name, env["CAUDAL_ADVERTISE"], port)
		}
		advertised = append(advertised, env["CAUDAL_ADVERTISE"])
	}
	bootstrap := c.Services["kafka-ui"].Environment["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]
	if bootstrap != strings.Join(advertised, ",") {
		t.Errorf("kafka-ui bootstraps from %q, want the gateways %q", bootstrap, strings.Join(advertised, ","))
	}
	if got := c.Services["worker"].Command; !slices.Equal(got, []string{"worker"}) {
		t.Errorf("worker runs %v", got)
	}
	mc := strings.Join(c.Services["minio-init"].Command, " ")
	bucket := regexp.MustCompile(`s3://([^/?]+)`).FindStringSubmatch(c.Services["gateway-1"].Environment["CAUDAL_BUCKET_URL"])
	if bucket == nil || !strings.Contains(mc, "mb --ignore-existing local/"+bucket[1]) {
		t.Errorf("minio-init (%q) does not create the gateways' bucket %v", mc, bucket)
	}
}

// TestEnvironmentNamesFlags checks every CAUDAL_* variable in the deploy
// files against the flags the binary really has.
func TestEnvironmentNamesFlags(t *testing.T) {
	bin := testenv.CaudalBinary(t)
	flags := map[string]bool{}
	for _, cmd := range []string{"gateway", "worker"} {
		out, _ := exec.Command(bin, cmd, "-h").CombinedOutput()
		for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z-]+)`).FindAllSubmatch(out, -1) {
			flags["CAUDAL_"+strings.ToUpper(strings.ReplaceAll(string(m[1]), "-", "_"))] = true
		}
	}
	if !flags["CAUDAL_BUCKET_URL"] {
		t.Fatalf("could not read the binary's flags; got %v", flags)
	}
	files, _ := filepath.Glob("k8s/*.yaml")
	files = append(files, "docker-compose.yml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range regexp.MustCompile(`CAUDAL_[A-Z_]+`).FindAll(b, -1) {
			if !flags[string(v)] {
				t.Errorf("%s sets %s, which is no flag of caudal gateway or worker", f, v)
			}
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	kinds := map[string]bool{}
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			if err := dec.Decode(&doc); err != nil {
				if err.Error() == "EOF" {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			kinds[doc.Kind+"/"+doc.Metadata.Name] = true
		}
	}
	for _, want := range []string{"Deployment/caudal-gateway", "HorizontalPodAutoscaler/caudal-gateway", "Deployment/caudal-worker", "ConfigMap/caudal", "Service/caudal"} {
		if !kinds[want] {
			t.Errorf("deploy/k8s has no %s (has %v)", want, kinds)
		}
	}
}

func TestDockerfileRunsAsNonRootStatic(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"CGO_ENABLED=0", "USER 65532", "AS build", "COPY --from=build"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
