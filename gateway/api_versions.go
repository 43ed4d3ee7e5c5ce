package gateway

// ApiVersions, versions 0–3.
//
// Lists every API this gateway serves with its version range. A request at
// a version we do not serve is answered in version 0 with
// UNSUPPORTED_VERSION and the list, so the client can retry at one we do.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ApiVersions, 0, 3, serveAPIVersions) }

func serveAPIVersions(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = servedAPIKeys()
	return resp
}

func unsupportedAPIVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = servedAPIKeys()
	return resp
}
