package gateway

// ApiVersions, versions 0–3.
//
// Lists every API this gateway serves with its version range. A request at
// a version we do not serve is answered in version 0 with
// UNSUPPORTED_VERSION and the list, so the client can retry at one we do.
// v3 reports the finalized feature transaction.version (KIP-890, KIP-1022):
// 2 unless the gateway is configured for 1, which makes current clients
// (franz-go ≥ 1.19, Java 4.x) use transaction version 2 (Produce v12,
// TxnOffsetCommit v5, EndTxn v5).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ApiVersions, 0, 3, serveAPIVersions) }

func serveAPIVersions(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = servedAPIKeys()
	tv := c.g.cfg.TransactionVersion
	resp.SupportedFeatures = []kmsg.ApiVersionsResponseSupportedFeature{{Name: "transaction.version", MinVersion: 0, MaxVersion: 2}}
	resp.FinalizedFeaturesEpoch = 1
	resp.FinalizedFeatures = []kmsg.ApiVersionsResponseFinalizedFeature{{Name: "transaction.version", MinVersionLevel: tv, MaxVersionLevel: tv}}
	return resp
}

func unsupportedAPIVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = servedAPIKeys()
	return resp
}
