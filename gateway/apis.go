package gateway

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// api is one served Kafka API: its version range and its handler. serve
// answers in the connection's read loop; async (produce) starts the work
// and completes the reply later.
type api struct {
	min, max int16
	serve    func(c *conn, req kmsg.Request) kmsg.Response
	async    func(c *conn, req kmsg.Request, r *reply)
}

// apis is filled by each API file's init; an API absent here is absent
// from ApiVersions.
var apis = map[int16]api{}

func register(key kmsg.Key, min, max int16, serve func(*conn, kmsg.Request) kmsg.Response) {
	apis[key.Int16()] = api{min: min, max: max, serve: serve}
}

func registerAsync(key kmsg.Key, min, max int16, async func(*conn, kmsg.Request, *reply)) {
	apis[key.Int16()] = api{min: min, max: max, async: async}
}

func servedAPIKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(apis))
	for k, a := range apis {
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: a.min, MaxVersion: a.max})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}
