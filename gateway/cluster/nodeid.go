package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A gateway can keep its node id in a local file, as a Kafka broker keeps
// broker.id in meta.properties, so that it comes back under the same id
// after a restart: clients' cached metadata stays right and nothing moves.
// The file is one line, "node.id=N". Gateways without a disk of their own
// (a Kubernetes Deployment) leave it out and get a new id per start; the
// registry's address takeover still replaces the old entry at once.

const nodeIDKey = "node.id"

// ReadNodeID returns the node id kept in path, or configured when there is
// no such file yet (below zero: the store allocates one). A file that
// disagrees with a configured id (zero or above) is an error, as Kafka
// refuses a broker.id that disagrees with meta.properties.
func ReadNodeID(path string, configured int32) (int32, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return configured, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read node id: %w", err)
	}
	kept, err := parseNodeID(string(b))
	if err != nil {
		return 0, fmt.Errorf("node id file %s: %w", path, err)
	}
	if configured >= 0 && configured != kept {
		return 0, fmt.Errorf("configured node id %d differs from %d kept in %s", configured, kept, path)
	}
	return kept, nil
}

func parseNodeID(text string) (int32, error) {
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.TrimSpace(k) != nodeIDKey {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || id < 0 {
			return 0, fmt.Errorf("%s=%q is not a node id", nodeIDKey, strings.TrimSpace(v))
		}
		return int32(id), nil
	}
	return 0, fmt.Errorf("no %s line", nodeIDKey)
}

// WriteNodeID keeps id in path unless the file already holds it. It
// writes a temporary file, syncs it and renames it over path, so a crash
// leaves either the old file or the new one, never half of one.
func WriteNodeID(path string, id int32) error {
	if kept, err := ReadNodeID(path, -1); err == nil && kept == id {
		return nil
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write node id: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = fmt.Fprintf(tmp, "%s=%d\n", nodeIDKey, id)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(dir) // the rename itself survives a crash
	}
	if err != nil {
		return fmt.Errorf("write node id to %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
