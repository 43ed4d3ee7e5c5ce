// Package deploy holds no code: its test checks the deployment files that
// cannot be run here (no Docker engine, no Kubernetes) against the binary
// they deploy, so a renamed flag or a missing service fails the build. It
// runs certs.sh and secrets.sh, checks what they make against the names
// and files the deployments use, and starts `caudal gateway` with a
// compose gateway's and a Kubernetes gateway's settings to sign in to it
// as their clients would.
package deploy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

type service struct {
	Build struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Secrets     []string          `yaml:"secrets"`
	DependsOn   any               `yaml:"depends_on"`
}

type compose struct {
	Services map[string]service `yaml:"services"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

// gateways are the services that run `caudal gateway`, by name.
func (c compose) gateways() []string {
	var names []string
	for name, s := range c.Services {
		if slices.Equal(s.Command, []string{"gateway"}) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func readCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	readYAML(t, "docker-compose.yml", &c)
	return c
}

// The security settings both deployments give every gateway.
const (
	adminUser     = "admin"
	clientMech    = "SCRAM-SHA-512"
	clientProto   = "SASL_SSL"
	secretsDir    = "/run/secrets/"
	k8sNamespace  = "default"
	k8sPodName    = "caudal-gateway-0"
	k8sBootstrap  = "caudal" // the Service clients bootstrap through
	k8sGatewaySet = "caudal-gateway"
)

// checkGatewaySecurity checks the settings of SASL_SSL with SCRAM and
// ACLs, with admin as the super user created at start-up.
func checkGatewaySecurity(t *testing.T, where string, env map[string]string) {
	t.Helper()
	ls := parseListeners(t, where, env["CAUDAL_LISTENERS"])
	if len(ls) == 0 {
		t.Errorf("%s: CAUDAL_LISTENERS is not set", where)
	}
	protocols := protocolMap(env["CAUDAL_LISTENER_SECURITY_PROTOCOL_MAP"])
	for _, l := range ls {
		p := protocols[l.name]
		if p == "" {
			p = l.name
		}
		if p != clientProto {
			t.Errorf("%s: listener %s is %s, not %s", where, l.name, p, clientProto)
		}
	}
	if !slices.Contains(strings.Split(env["CAUDAL_SASL_ENABLED_MECHANISMS"], ","), clientMech) {
		t.Errorf("%s: CAUDAL_SASL_ENABLED_MECHANISMS=%q lacks %s", where, env["CAUDAL_SASL_ENABLED_MECHANISMS"], clientMech)
	}
	if env["CAUDAL_AUTHORIZER"] != "acl" {
		t.Errorf("%s: CAUDAL_AUTHORIZER=%q, want acl", where, env["CAUDAL_AUTHORIZER"])
	}
	if !slices.Contains(strings.Split(env["CAUDAL_SUPER_USERS"], ";"), "User:"+adminUser) {
		t.Errorf("%s: CAUDAL_SUPER_USERS=%q lacks User:%s", where, env["CAUDAL_SUPER_USERS"], adminUser)
	}
	if env["CAUDAL_SASL_ADMIN_USER"] != adminUser {
		t.Errorf("%s: CAUDAL_SASL_ADMIN_USER=%q, want %s", where, env["CAUDAL_SASL_ADMIN_USER"], adminUser)
	}
	for _, k := range []string{"CAUDAL_SASL_ADMIN_PASSWORD_FILE", "CAUDAL_SSL_CERTIFICATE_LOCATION", "CAUDAL_SSL_KEY_LOCATION"} {
		if !strings.HasPrefix(env[k], "/") {
			t.Errorf("%s: %s=%q is not a file's path", where, k, env[k])
		}
	}
}

func TestComposeServices(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"minio", "minio-init", "postgres", "gateway-1", "gateway-2", "gateway-3", "worker", "kafka-ui", "prometheus"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no service %q", name)
		}
	}
	var internal []string
	for _, name := range c.gateways() {
		env := c.Services[name].Environment
		checkGatewaySecurity(t, name, env)
		for _, k := range []string{"CAUDAL_BUCKET_URL", "CAUDAL_METADATA_URL", "AWS_SHARED_CREDENTIALS_FILE"} {
			if env[k] == "" {
				t.Errorf("%s: %s is not set", name, k)
			}
		}
		advertised := map[string]listener{}
		for _, a := range parseListeners(t, name, env["CAUDAL_ADVERTISED_LISTENERS"]) {
			advertised[a.name] = a
		}
		// INTERNAL is for the compose network, by service name; EXTERNAL
		// for the host, by localhost and a port published on loopback.
		for _, l := range parseListeners(t, name, env["CAUDAL_LISTENERS"]) {
			a := advertised[l.name]
			if a.port != l.port {
				t.Errorf("%s: listener %s on port %s is advertised as %q", name, l.name, l.port, a.addr())
			}
			switch l.name {
			case "INTERNAL":
				if a.host != name {
					t.Errorf("%s: INTERNAL is advertised as %q, not by its service name", name, a.addr())
				}
				internal = append(internal, a.addr())
			case "EXTERNAL":
				if a.host != "localhost" {
					t.Errorf("%s: EXTERNAL is advertised as %q, not on localhost", name, a.addr())
				}
				if !slices.Contains(c.Services[name].Ports, "127.0.0.1:"+l.port+":"+l.port) {
					t.Errorf("%s: EXTERNAL listens on %s but publishes %v", name, l.port, c.Services[name].Ports)
				}
			default:
				t.Errorf("%s: listener %s is neither INTERNAL nor EXTERNAL", name, l.name)
			}
		}
	}
	ui := c.Services["kafka-ui"].Environment
	if got := ui["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]; got != strings.Join(internal, ",") {
		t.Errorf("kafka-ui bootstraps from %q, want the gateways' INTERNAL listeners %q", got, strings.Join(internal, ","))
	}
	for k, want := range map[string]string{
		"KAFKA_CLUSTERS_0_PROPERTIES_SECURITY_PROTOCOL":       clientProto,
		"KAFKA_CLUSTERS_0_PROPERTIES_SASL_MECHANISM":          clientMech,
		"KAFKA_CLUSTERS_0_PROPERTIES_SSL_TRUSTSTORE_TYPE":     "PEM",
		"KAFKA_CLUSTERS_0_PROPERTIES_SSL_TRUSTSTORE_LOCATION": secretsDir + "ca-cert",
		"SPRING_CONFIG_IMPORT":                                "configtree:" + secretsDir,
	} {
		if ui[k] != want {
			t.Errorf("kafka-ui: %s=%q, want %q", k, ui[k], want)
		}
	}
	if f := c.Secrets["ca-cert"].File; f != "./certs/ca.pem" {
		t.Errorf("kafka-ui trusts the secret ca-cert, which is %q, not certs.sh's CA", f)
	}
	// The JAAS line takes the password from the property Spring's
	// configtree makes of the admin's password secret.
	jaas := ui["KAFKA_CLUSTERS_0_PROPERTIES_SASL_JAAS_CONFIG"]
	m := regexp.MustCompile(`^org\.apache\.kafka\.common\.security\.scram\.ScramLoginModule required username="([^"]+)" password="\$\$\{([a-z-]+)\}";$`).FindStringSubmatch(jaas)
	if m == nil {
		t.Fatalf("kafka-ui: KAFKA_CLUSTERS_0_PROPERTIES_SASL_JAAS_CONFIG=%q is not SCRAM with the password from a secret", jaas)
	}
	gwPassword := strings.TrimPrefix(c.Services["gateway-1"].Environment["CAUDAL_SASL_ADMIN_PASSWORD_FILE"], secretsDir)
	if m[1] != adminUser || c.Secrets[m[2]].File == "" || c.Secrets[m[2]].File != c.Secrets[gwPassword].File {
		t.Errorf("kafka-ui signs in as %s with the secret %s (%s); the gateways' admin is %s with %s (%s)",
			m[1], m[2], c.Secrets[m[2]].File, adminUser, gwPassword, c.Secrets[gwPassword].File)
	}

	for name, s := range c.Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond this machine", name, p)
			}
		}
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

// TestComposeSecretsMounted checks that each service mounts exactly the
// secrets its settings read: as /run/secrets/NAME, or as Spring's property
// ${NAME} in kafka-ui.
func TestComposeSecretsMounted(t *testing.T) {
	c := readCompose(t)
	ref := regexp.MustCompile(`(?:` + regexp.QuoteMeta(secretsDir) + `|\$\$\{)([a-z0-9.-]+)`)
	for name, s := range c.Services {
		used := map[string]bool{}
		texts := slices.Clone(s.Command)
		for _, v := range s.Environment {
			texts = append(texts, v)
		}
		for _, text := range texts {
			for _, m := range ref.FindAllStringSubmatch(text, -1) {
				used[m[1]] = true
			}
		}
		for secret := range used {
			if !slices.Contains(s.Secrets, secret) {
				t.Errorf("%s reads the secret %s but does not mount it", name, secret)
			}
		}
		for _, secret := range s.Secrets {
			if _, ok := c.Secrets[secret]; !ok {
				t.Errorf("%s mounts the secret %s, which is not defined", name, secret)
			}
			if !used[secret] {
				t.Errorf("%s mounts the secret %s, which nothing in it reads", name, secret)
			}
		}
	}
}

// TestComposeFilesExist checks every file the compose file names: it is in
// the repository, or certs.sh or secrets.sh makes it, and then git ignores
// it.
func TestComposeFilesExist(t *testing.T) {
	c := readCompose(t)
	certs, secrets := runCerts(t), runSecrets(t)
	made := map[string]string{"./certs/": certs, "./secrets/": secrets}
	check := func(what, path string) {
		for prefix, dir := range made {
			if rest, ok := strings.CutPrefix(path, prefix); ok {
				if _, err := os.Stat(filepath.Join(dir, rest)); err != nil {
					t.Errorf("%s %s is made by neither certs.sh nor secrets.sh", what, path)
				}
				return
			}
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	for name, s := range c.Secrets {
		check("secret "+name, s.File)
	}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			if src, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(src, ".") {
				check(name+" volume", src)
			}
		}
		if s.Build.Context != "" {
			check(name+" build context", s.Build.Context)
			check(name+" Dockerfile", filepath.Join(s.Build.Context, s.Build.Dockerfile))
		}
	}
	ignore, err := os.ReadFile("../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/deploy/certs/", "/deploy/secrets/"} {
		if !slices.Contains(strings.Split(string(ignore), "\n"), dir) {
			t.Errorf(".gitignore does not ignore %s, where the scripts write", dir)
		}
	}
}

// TestNoPasswordInDeployFiles checks that no password is written in the
// compose file or the Kubernetes manifests: settings named for a password
// or secret key name a file or are absent, no URL carries one, and a JAAS
// line takes its password from a placeholder.
func TestNoPasswordInDeployFiles(t *testing.T) {
	secretKey := regexp.MustCompile(`(?i)(password|passwd|secret_access_key|secret_key)$`)
	userinfo := regexp.MustCompile(`://[^/@\s]*:[^/@\s]*@`)
	jaas := regexp.MustCompile(`password="([^"]*)"`)
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, f := range append(files, "docker-compose.yml") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			walkScalars(&doc, "", func(key, value string) {
				if secretKey.MatchString(key) && value != "" {
					t.Errorf("%s: %s is set to a literal; name a file instead", f, key)
				}
				if userinfo.MatchString(value) {
					t.Errorf("%s: %s holds a URL with a password", f, key)
				}
				for _, m := range jaas.FindAllStringSubmatch(value, -1) {
					if !strings.HasPrefix(m[1], "$${") && !strings.HasPrefix(m[1], "${") {
						t.Errorf("%s: %s has a JAAS password literal", f, key)
					}
				}
			})
		}
	}
}

// walkScalars calls fn with each scalar and the key it is the value of:
// the mapping key, or for Kubernetes' {name: K, value: V} the name. It
// does not follow aliases: their anchors are walked where they are.
func walkScalars(n *yaml.Node, key string, fn func(key, value string)) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			walkScalars(c, key, fn)
		}
	case yaml.MappingNode:
		name := ""
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "name" {
				name = n.Content[i+1].Value
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if k == "value" && name != "" {
				k = name
			}
			walkScalars(n.Content[i+1], k, fn)
		}
	case yaml.ScalarNode:
		fn(key, n.Value)
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
	if !flags["CAUDAL_BUCKET_URL"] || !flags["CAUDAL_LISTENERS"] {
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

// k8sDoc is what the test reads of a Kubernetes object.
type k8sDoc struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		ServiceName              string `yaml:"serviceName"`
		ClusterIP                string `yaml:"clusterIP"`
		PublishNotReadyAddresses bool   `yaml:"publishNotReadyAddresses"`
		ScaleTargetRef           struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	Containers []struct {
		Args []string `yaml:"args"`
		Env  []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom struct {
				FieldRef struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		EnvFrom []struct {
			ConfigMapRef struct{ Name string } `yaml:"configMapRef"`
			SecretRef    struct{ Name string } `yaml:"secretRef"`
		} `yaml:"envFrom"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name   string `yaml:"name"`
		Secret struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

// k8sManifests reads deploy/k8s: the objects by kind/name, and the
// comments' `kubectl create secret` commands.
func k8sManifests(t *testing.T) (map[string]k8sDoc, []kubectlSecret) {
	t.Helper()
	docs := map[string]k8sDoc{}
	var secrets []kubectlSecret
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, parseKubectlSecrets(string(b))...)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc k8sDoc
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			docs[doc.Kind+"/"+doc.Metadata.Name] = doc
		}
	}
	return docs, secrets
}

// kubectlSecret is a documented `kubectl create secret` command: the
// Secret's name and, per key, the file it is made from (or "" for a
// literal).
type kubectlSecret struct {
	name string
	keys map[string]string
}

func parseKubectlSecrets(text string) []kubectlSecret {
	var out []kubectlSecret
	text = strings.ReplaceAll(text, "\\\n#", "")
	for _, m := range regexp.MustCompile(`kubectl create secret (tls|generic) (\S+)(.*)`).FindAllStringSubmatch(text, -1) {
		s := kubectlSecret{name: m[2], keys: map[string]string{}}
		for _, arg := range strings.Fields(m[3]) {
			switch k, v, _ := strings.Cut(arg, "="); k {
			case "--cert":
				s.keys["tls.crt"] = v
			case "--key":
				s.keys["tls.key"] = v
			case "--from-literal":
				key, _, _ := strings.Cut(v, "=")
				s.keys[key] = ""
			case "--from-file":
				key, path, _ := strings.Cut(v, "=")
				s.keys[key] = path
			}
		}
		out = append(out, s)
	}
	return out
}

// k8sGateway is the gateway container's environment as Kubernetes makes
// it for pod caudal-gateway-0, and each file its Secret volumes hold,
// with the kubectl command's file or "" for a literal.
func k8sGateway(t *testing.T) (env, files map[string]string) {
	t.Helper()
	docs, secrets := k8sManifests(t)
	set := docs["StatefulSet/"+k8sGatewaySet]
	if len(set.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("StatefulSet/%s has %d containers, want the gateway", k8sGatewaySet, len(set.Spec.Template.Spec.Containers))
	}
	pod := set.Spec.Template.Spec
	ctr := pod.Containers[0]
	env = map[string]string{}
	for _, from := range ctr.EnvFrom {
		maps.Copy(env, docs["ConfigMap/"+from.ConfigMapRef.Name].Data)
	}
	fields := map[string]string{"metadata.name": k8sPodName, "metadata.namespace": k8sNamespace}
	ref := regexp.MustCompile(`\$\(([A-Z_]+)\)`)
	for _, e := range ctr.Env {
		if f := e.ValueFrom.FieldRef.FieldPath; f != "" {
			env[e.Name] = fields[f]
			continue
		}
		env[e.Name] = ref.ReplaceAllStringFunc(e.Value, func(s string) string { return env[s[2:len(s)-1]] })
	}
	files = map[string]string{}
	for _, m := range ctr.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Secret.SecretName == "" {
				continue
			}
			i := slices.IndexFunc(secrets, func(s kubectlSecret) bool { return s.name == v.Secret.SecretName })
			if i < 0 {
				t.Errorf("the gateway mounts Secret %s, which no `kubectl create secret` in deploy/k8s makes", v.Secret.SecretName)
				continue
			}
			for key, from := range secrets[i].keys {
				files[filepath.Join(m.MountPath, key)] = from
			}
		}
	}
	return env, files
}

func TestKubernetesManifests(t *testing.T) {
	docs, secrets := k8sManifests(t)
	for _, want := range []string{"StatefulSet/caudal-gateway", "Service/caudal-gateway", "Service/caudal", "HorizontalPodAutoscaler/caudal-gateway", "Deployment/caudal-worker", "ConfigMap/caudal"} {
		if _, ok := docs[want]; !ok {
			t.Errorf("deploy/k8s has no %s", want)
		}
	}
	set := docs["StatefulSet/"+k8sGatewaySet]
	headless := docs["Service/"+set.Spec.ServiceName]
	if set.Spec.ServiceName != k8sGatewaySet || headless.Spec.ClusterIP != "None" || !headless.Spec.PublishNotReadyAddresses {
		t.Errorf("the gateways' StatefulSet names Service %q, which must be headless (%q) and publish pods before they are ready (%v)",
			set.Spec.ServiceName, headless.Spec.ClusterIP, headless.Spec.PublishNotReadyAddresses)
	}
	if ref := docs["HorizontalPodAutoscaler/caudal-gateway"].Spec.ScaleTargetRef; ref.Kind != "StatefulSet" || ref.Name != k8sGatewaySet {
		t.Errorf("the HPA scales %s/%s, not the gateways", ref.Kind, ref.Name)
	}

	env, files := k8sGateway(t)
	checkGatewaySecurity(t, "StatefulSet/"+k8sGatewaySet, env)
	// Each pod advertises its own name under the headless Service.
	wantHost := k8sPodName + "." + k8sGatewaySet + "." + k8sNamespace + ".svc.cluster.local"
	for _, a := range parseListeners(t, "gateway", env["CAUDAL_ADVERTISED_LISTENERS"]) {
		if a.host != wantHost {
			t.Errorf("pod %s advertises %s as %s, want %s", k8sPodName, a.name, a.addr(), wantHost)
		}
	}
	for _, k := range []string{"CAUDAL_SASL_ADMIN_PASSWORD_FILE", "CAUDAL_SSL_CERTIFICATE_LOCATION", "CAUDAL_SSL_KEY_LOCATION"} {
		if _, ok := files[env[k]]; !ok {
			t.Errorf("the gateway's %s=%s is no key of a mounted Secret that deploy/k8s says how to create", k, env[k])
		}
	}

	documented := map[string]bool{}
	for _, s := range secrets {
		documented[s.name] = true
	}
	for name, doc := range docs {
		pod := doc.Spec.Template.Spec
		for _, c := range pod.Containers {
			for _, from := range c.EnvFrom {
				if n := from.SecretRef.Name; n != "" && !documented[n] {
					t.Errorf("%s reads Secret %s, which no `kubectl create secret` in deploy/k8s makes", name, n)
				}
				if n := from.ConfigMapRef.Name; n != "" && docs["ConfigMap/"+n].Kind == "" {
					t.Errorf("%s reads ConfigMap %s, which deploy/k8s does not have", name, n)
				}
			}
		}
	}
	worker := docs["Deployment/caudal-worker"].Spec.Template.Spec
	if len(worker.Containers) != 1 || !slices.Equal(worker.Containers[0].Args, []string{"worker"}) {
		t.Errorf("Deployment/caudal-worker does not run one `caudal worker`")
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

// TestCertificates checks that certs.sh's server certificate verifies,
// against its CA, for every name the deployments' clients dial.
func TestCertificates(t *testing.T) {
	dir := runCerts(t)
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, filepath.Join(dir, "ca.pem")))
	server := readCert(t, filepath.Join(dir, "server.pem"))

	names := []string{"127.0.0.1", k8sBootstrap, k8sBootstrap + "." + k8sNamespace + ".svc"}
	c := readCompose(t)
	for _, name := range c.gateways() {
		names = append(names, name)
		for _, a := range parseListeners(t, name, c.Services[name].Environment["CAUDAL_ADVERTISED_LISTENERS"]) {
			names = append(names, a.host)
		}
	}
	env, _ := k8sGateway(t)
	for _, a := range parseListeners(t, "k8s", env["CAUDAL_ADVERTISED_LISTENERS"]) {
		names = append(names, a.host)
	}
	for _, name := range names {
		if _, err := server.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	client := readCert(t, filepath.Join(dir, "client.pem"))
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if got := client.Subject.String(); got != "CN=caudal-client,O=caudal" {
		t.Errorf("client certificate's subject is %q", got)
	}
	for _, pair := range [][2]string{{"server.pem", "server-key.pem"}, {"client.pem", "client-key.pem"}} {
		if _, err := tls.LoadX509KeyPair(filepath.Join(dir, pair[0]), filepath.Join(dir, pair[1])); err != nil {
			t.Errorf("%s and %s: %v", pair[0], pair[1], err)
		}
	}
	for f, want := range map[string]os.FileMode{"ca-key.pem": 0o600, "client-key.pem": 0o600, ".": 0o700} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", f, fi.Mode().Perm(), want)
		}
	}

	// Nothing is overwritten without --force.
	ca, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if out, err := exec.Command("./certs.sh", dir).CombinedOutput(); err == nil {
		t.Errorf("certs.sh wrote over %s without --force:\n%s", dir, out)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); !bytes.Equal(now, ca) {
		t.Error("certs.sh without --force changed ca.pem")
	}
	if out, err := exec.Command("./certs.sh", "--force", "--namespace", "kafka", dir).CombinedOutput(); err != nil {
		t.Fatalf("certs.sh --force: %v\n%s", err, out)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); bytes.Equal(now, ca) {
		t.Error("certs.sh --force kept the old CA")
	}
	roots = x509.NewCertPool()
	roots.AddCert(readCert(t, filepath.Join(dir, "ca.pem")))
	name := k8sPodName + "." + k8sGatewaySet + ".kafka.svc.cluster.local"
	if _, err := readCert(t, filepath.Join(dir, "server.pem")).Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
		t.Errorf("certs.sh --namespace kafka: server certificate for %s: %v", name, err)
	}
}

// TestSecrets checks secrets.sh's passwords against the compose file's
// users: the same password in each of its two forms, a new one each time.
func TestSecrets(t *testing.T) {
	dir := runSecrets(t)
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	hex48 := regexp.MustCompile(`^[0-9a-f]{48}$`)
	admin, postgres, minio := read("admin-password.txt"), read("postgres-password.txt"), read("minio-password.txt")
	for f, p := range map[string]string{"admin-password.txt": admin, "postgres-password.txt": postgres, "minio-password.txt": minio} {
		if !hex48.MatchString(p) {
			t.Errorf("%s is not 48 hex digits and nothing else", f)
		}
	}
	if admin == postgres || admin == minio || postgres == minio {
		t.Error("secrets.sh gave two users the same password")
	}

	c := readCompose(t)
	pgUser := c.Services["postgres"].Environment["POSTGRES_USER"]
	if got := read("pgpass"); got != "*:*:*:"+pgUser+":"+postgres+"\n" {
		t.Errorf("pgpass is not user %s's line with postgres-password.txt's password", pgUser)
	}
	u, err := url.Parse(c.Services["gateway-1"].Environment["CAUDAL_METADATA_URL"])
	if err != nil || u.User.Username() != pgUser || u.Query().Get("passfile") != secretsDir+"pgpass" {
		t.Errorf("CAUDAL_METADATA_URL is not user %s with the passfile %spgpass (%v)", pgUser, secretsDir, err)
	}
	minioUser := c.Services["minio"].Environment["MINIO_ROOT_USER"]
	if got, want := read("aws-credentials"), "[default]\naws_access_key_id = "+minioUser+"\naws_secret_access_key = "+minio+"\n"; got != want {
		t.Errorf("aws-credentials is not MinIO's root user %s with minio-password.txt's password", minioUser)
	}
	if mc := strings.Join(c.Services["minio-init"].Command, " "); !strings.Contains(mc, " "+minioUser+` "$$(cat /run/secrets/minio-password)"`) {
		t.Errorf("minio-init signs in otherwise than as %s with minio-password: %q", minioUser, mc)
	}

	if out, err := exec.Command("./secrets.sh", dir).CombinedOutput(); err == nil {
		t.Errorf("secrets.sh wrote over %s without --force:\n%s", dir, out)
	}
	if read("admin-password.txt") != admin {
		t.Error("secrets.sh without --force changed admin-password.txt")
	}
	if out, err := exec.Command("./secrets.sh", "--force", dir).CombinedOutput(); err != nil {
		t.Fatalf("secrets.sh --force: %v\n%s", err, out)
	}
	if read("admin-password.txt") == admin {
		t.Error("secrets.sh --force kept the old password")
	}
}

// TestComposeGatewayServes starts `caudal gateway` with gateway-1's
// settings, its secrets made by the scripts, and signs in from "the
// host": through EXTERNAL, as admin, trusting only the throwaway CA.
func TestComposeGatewayServes(t *testing.T) {
	c := readCompose(t)
	certs, secrets := runCerts(t), runSecrets(t)
	files := map[string]string{}
	for name, s := range c.Secrets {
		f := strings.Replace(strings.Replace(s.File, "./certs", certs, 1), "./secrets", secrets, 1)
		files[secretsDir+name] = f
	}
	adv := startGateway(t, c.Services["gateway-1"].Environment, files)
	password, _ := os.ReadFile(filepath.Join(secrets, "admin-password.txt"))
	signIn(t, filepath.Join(certs, "ca.pem"), string(password), adv["EXTERNAL"], adv["EXTERNAL"])
}

// TestKubernetesGatewayServes starts `caudal gateway` with the
// StatefulSet's settings for pod caudal-gateway-0, its Secrets made as
// deploy/k8s documents, and signs in as a client in the cluster does:
// bootstrapping through the caudal Service.
func TestKubernetesGatewayServes(t *testing.T) {
	env, files := k8sGateway(t)
	certs, secrets := runCerts(t), runSecrets(t)
	for path, from := range files {
		switch {
		case strings.HasPrefix(from, "deploy/certs/"):
			files[path] = filepath.Join(certs, strings.TrimPrefix(from, "deploy/certs/"))
		case from == "": // a literal: the admin's password is the one key made so
			files[path] = filepath.Join(secrets, "admin-password.txt")
		default:
			t.Fatalf("%s comes from %s, which this test does not know", path, from)
		}
	}
	adv := startGateway(t, env, files)
	_, port, _ := net.SplitHostPort(adv["SASL_SSL"])
	password, _ := os.ReadFile(filepath.Join(secrets, "admin-password.txt"))
	signIn(t, filepath.Join(certs, "ca.pem"), string(password), net.JoinHostPort(k8sBootstrap, port), adv["SASL_SSL"])
}

// startGateway runs `caudal gateway` with a deployment's environment and
// nothing else, on this machine: the files it names are those in files,
// each listener moves to a free loopback port (advertised with its host
// unchanged), and the stores are a temporary directory's. It returns the
// advertised address of each listener by name.
func startGateway(t *testing.T, deployEnv, files map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{}
	for k, v := range deployEnv {
		if f, ok := files[v]; ok {
			v = f
		}
		env[k] = v
	}
	for k := range env {
		if strings.HasPrefix(k, "AWS_") {
			delete(env, k)
		}
	}
	env["CAUDAL_BUCKET_URL"] = "file://" + filepath.Join(dir, "objects")
	env["CAUDAL_METADATA_URL"] = "sqlite://" + filepath.Join(dir, "metadata.db")
	env["CAUDAL_HTTP_LISTEN"] = ""

	local, advertised := map[string]string{}, map[string]string{}
	var listeners, advs []string
	for _, l := range parseListeners(t, "gateway", env["CAUDAL_LISTENERS"]) {
		local[l.name] = testenv.FreeAddr(t)
		listeners = append(listeners, l.name+"://"+local[l.name])
	}
	for _, a := range parseListeners(t, "gateway", env["CAUDAL_ADVERTISED_LISTENERS"]) {
		_, port, _ := net.SplitHostPort(local[a.name])
		advertised[a.name] = net.JoinHostPort(a.host, port)
		advs = append(advs, a.name+"://"+advertised[a.name])
	}
	env["CAUDAL_LISTENERS"] = strings.Join(listeners, ",")
	env["CAUDAL_ADVERTISED_LISTENERS"] = strings.Join(advs, ",")

	cmd := exec.Command(testenv.CaudalBinary(t), "gateway")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("gateway log:\n%s", testenv.Tail(log.String(), 4000))
		}
	})
	for name, addr := range local {
		for deadline := time.Now().Add(20 * time.Second); ; {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-exited:
				t.Fatalf("the gateway exited")
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("listener %s on %s: %v", name, addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return advertised
}

// signIn connects to the gateway as a client of the deployment: it dials
// seed, then the brokers Metadata lists (each on loopback, as every
// listener is here), and checks each TLS certificate against the name it
// dialed, trusting only caFile. As admin it creates a topic and reads back
// what it wrote; the gateway must list itself as wantBroker, and refuse a
// wrong password.
func signIn(t *testing.T, caFile, password, seed, wantBroker string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, caFile))
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}}
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	client := func(password string, opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{
			kgo.SeedBrokers(seed), kgo.Dialer(dial),
			kgo.SASL(scram.Auth{User: adminUser, Pass: password}.AsSha512Mechanism()),
			kgo.RetryTimeout(5 * time.Second),
		}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const topic = "deploy-check"
	adm := kadm.NewClient(client(password))
	brokers, err := adm.ListBrokers(ctx)
	if err != nil {
		t.Fatalf("admin lists brokers: %v", err)
	}
	if len(brokers) != 1 || net.JoinHostPort(brokers[0].Host, strconv.Itoa(int(brokers[0].Port))) != wantBroker {
		t.Errorf("Metadata lists %v, want %s", brokers, wantBroker)
	}
	if _, err := adm.CreateTopic(ctx, 1, -1, nil, topic); err != nil {
		t.Fatalf("admin creates a topic: %v", err)
	}
	cl := client(password, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatalf("admin produces: %v", err)
	}
	fetches := cl.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatalf("admin fetches: %v", err)
	}
	if recs := fetches.Records(); len(recs) != 1 || string(recs[0].Value) != "hello" {
		t.Errorf("admin read back %v", recs)
	}

	_, err = kadm.NewClient(client(password + "x")).ListTopics(ctx)
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("a wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

// runCerts runs certs.sh into a new directory and returns it.
func runCerts(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is not installed (make setup installs it): %v", err)
	}
	return runScript(t, "./certs.sh")
}

// runSecrets runs secrets.sh into a new directory and returns it.
func runSecrets(t *testing.T) string {
	t.Helper()
	return runScript(t, "./secrets.sh")
}

func runScript(t *testing.T, script string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	if out, err := exec.Command(script, dir).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return dir
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cert
}

// listener is one NAME://host:port of a listeners setting.
type listener struct{ name, host, port string }

func (l listener) addr() string { return net.JoinHostPort(l.host, l.port) }

func parseListeners(t *testing.T, where, spec string) []listener {
	t.Helper()
	var out []listener
	for _, part := range strings.Split(spec, ",") {
		if part == "" {
			continue
		}
		name, hostport, ok := strings.Cut(part, "://")
		host, port, err := net.SplitHostPort(hostport)
		if !ok || err != nil {
			t.Errorf("%s: %q is not NAME://host:port", where, part)
			continue
		}
		out = append(out, listener{name: name, host: host, port: port})
	}
	return out
}

// protocolMap reads NAME:PROTOCOL,...
func protocolMap(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if name, proto, ok := strings.Cut(part, ":"); ok {
			out[name] = proto
		}
	}
	return out
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
