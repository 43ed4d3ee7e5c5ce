package cluster

import "strings"

// RackFromClientID finds a "rack=" or "zone=" (or "client.rack=") tag in
// a client id, the tags separated by ';', ',', '&', '|' or spaces. Kafka
// clients do not send their rack in Metadata, so this tag (or the rack of
// a connection's last Fetch) is how a client names its zone.
func RackFromClientID(id string) string {
	if !strings.Contains(id, "=") {
		return ""
	}
	for _, part := range strings.FieldsFunc(id, func(r rune) bool {
		return r == ';' || r == ',' || r == '&' || r == '|' || r == ' '
	}) {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "rack", "zone", "client.rack":
			return strings.TrimSpace(v)
		}
	}
	return ""
}
