package gateway

import (
	"context"
	"net"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/objstore/objstoretest"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newTestGateway builds a gateway on SQLite and a file bucket in a temp
// directory, with a topic "fuzz" of two partitions; it is closed when the
// test ends.
func newTestGateway(t testing.TB) *Gateway {
	t.Helper()
	return newTestGatewayWith(t, Config{}, nil)
}

// newTestGatewayWith is newTestGateway with cfg's settings and, when wrap
// is set, the store it returns in place of the SQLite one.
func newTestGatewayWith(t testing.TB, cfg Config, wrap func(metadata.Store) metadata.Store) *Gateway {
	t.Helper()
	ctx := context.Background()
	bucket := objstoretest.OpenFile(t)
	store := metadatatest.OpenSQLite(t, metadata.Options{})
	cfg.FlushInterval, cfg.Advertise = 5*time.Millisecond, "127.0.0.1:9092"
	served := store
	if wrap != nil {
		served = wrap(store)
	}
	g, err := New(cfg, served, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.createTopic(ctx, metadata.TopicSpec{Name: "fuzz", Partitions: 2, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.Close(ctx)
	})
	return g
}

// serveTestGateway serves g on a loopback port and returns its address.
func serveTestGateway(t testing.TB, g *Gateway) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.cfg.Advertise = ln.Addr().String()
	go g.Serve(ln)
	return ln.Addr().String()
}

// testClient is a kgo client of the gateway at addr, closed when t ends.
func testClient(t testing.TB, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// seedRequests are valid requests of several APIs and versions.
func seedRequests() []kmsg.Request {
	var out []kmsg.Request
	add := func(r kmsg.Request, versions ...int16) {
		for _, v := range versions {
			// Each version needs its own value: requests are pointers,
			// and a shallow copy is enough since only the version differs.
			c := reflect.New(reflect.TypeOf(r).Elem()).Interface().(kmsg.Request)
			reflect.ValueOf(c).Elem().Set(reflect.ValueOf(r).Elem())
			c.SetVersion(v)
			out = append(out, c)
		}
	}
	av := kmsg.NewPtrApiVersionsRequest()
	av.ClientSoftwareName, av.ClientSoftwareVersion = "fuzz", "1"
	add(av, 0, 3)

	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("fuzz")
	md.Topics = append(md.Topics, mt)
	add(md, 1, 9, 12)

	pr := kmsg.NewPtrProduceRequest()
	pr.Acks, pr.TimeoutMillis = -1, 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzz"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = segmentstest.Batch("a", "bb", "ccc")
	pt.Partitions = append(pt.Partitions, pp)
	pr.Topics = append(pr.Topics, pt)
	add(pr, 3, 9, 11)

	fr := kmsg.NewPtrFetchRequest()
	fr.MaxWaitMillis, fr.MinBytes, fr.MaxBytes, fr.ReplicaID = 10, 1, 1<<20, -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "fuzz"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fr.Topics = append(fr.Topics, ft)
	add(fr, 4, 11, 12)

	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "fuzz"
	for _, ts := range []int64{-1, -2, -3, 500} {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Timestamp = ts
		lt.Partitions = append(lt.Partitions, lp)
	}
	lo.Topics = append(lo.Topics, lt)
	add(lo, 1, 8)

	ct := kmsg.NewPtrCreateTopicsRequest()
	ctt := kmsg.NewCreateTopicsRequestTopic()
	ctt.Topic, ctt.NumPartitions, ctt.ReplicationFactor = "fuzz-new", 3, 1
	ctc := kmsg.NewCreateTopicsRequestTopicConfig()
	ctc.Name, ctc.Value = "retention.ms", kmsg.StringPtr("1000")
	ctt.Configs = append(ctt.Configs, ctc)
	ct.Topics = append(ct.Topics, ctt)
	ct.ValidateOnly = true
	ct.SetVersion(7)
	out = append(out, ct)

	// Regression: 2^31-1 partitions once held the metadata store for hours.
	huge := kmsg.NewPtrCreateTopicsRequest()
	hugeT := kmsg.NewCreateTopicsRequestTopic()
	hugeT.Topic, hugeT.NumPartitions, hugeT.ReplicationFactor = "fuzz-huge", 1<<31-1, 1
	huge.Topics = append(huge.Topics, hugeT)
	huge.SetVersion(5)
	out = append(out, huge)

	dc := kmsg.NewPtrDescribeConfigsRequest()
	dcr := kmsg.NewDescribeConfigsRequestResource()
	dcr.ResourceType, dcr.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
	dc.Resources = append(dc.Resources, dcr)
	dc.IncludeSynonyms = true
	dc.SetVersion(4)
	out = append(out, dc)

	// Broker configs: this gateway (node 0) with documentation, and
	// changes of the cluster default, validated only.
	dcb := kmsg.NewPtrDescribeConfigsRequest()
	dcbr := kmsg.NewDescribeConfigsRequestResource()
	dcbr.ResourceType, dcbr.ResourceName, dcbr.ConfigNames = kmsg.ConfigResourceTypeBroker, "0", []string{"log.retention.ms", "num.partitions"}
	dcb.Resources = append(dcb.Resources, dcbr)
	dcb.IncludeSynonyms, dcb.IncludeDocumentation = true, true
	add(dcb, 1, 4)
	iab := kmsg.NewPtrIncrementalAlterConfigsRequest()
	iabr := kmsg.NewIncrementalAlterConfigsRequestResource()
	iabr.ResourceType = kmsg.ConfigResourceTypeBroker
	iabSet, iabAppend := kmsg.NewIncrementalAlterConfigsRequestResourceConfig(), kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	iabSet.Name, iabSet.Op, iabSet.Value = "log.retention.ms", kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("60000")
	iabAppend.Name, iabAppend.Op, iabAppend.Value = "log.cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr("compact")
	iabr.Configs = append(iabr.Configs, iabSet, iabAppend)
	iab.Resources, iab.ValidateOnly = append(iab.Resources, iabr), true
	add(iab, 0, 1)
	acb := kmsg.NewPtrAlterConfigsRequest()
	acbr := kmsg.NewAlterConfigsRequestResource()
	acbr.ResourceType, acbr.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	acbc := kmsg.NewAlterConfigsRequestResourceConfig()
	acbc.Name, acbc.Value = "num.partitions", kmsg.StringPtr("3")
	acbr.Configs = append(acbr.Configs, acbc)
	acb.Resources, acb.ValidateOnly = append(acb.Resources, acbr), true
	add(acb, 0, 2)

	ia := kmsg.NewPtrIncrementalAlterConfigsRequest()
	iar := kmsg.NewIncrementalAlterConfigsRequestResource()
	iar.ResourceType, iar.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
	iac := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	iac.Name, iac.Op, iac.Value = "cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr("compact")
	iar.Configs = append(iar.Configs, iac)
	ia.Resources = append(ia.Resources, iar)
	ia.ValidateOnly = true
	ia.SetVersion(1)
	out = append(out, ia)

	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.SetVersion(4)
	out = append(out, ip)

	dr := kmsg.NewPtrDeleteRecordsRequest()
	drt := kmsg.NewDeleteRecordsRequestTopic()
	drt.Topic = "fuzz"
	drp := kmsg.NewDeleteRecordsRequestTopicPartition()
	drp.Partition, drp.Offset = 1, 0
	drt.Partitions = append(drt.Partitions, drp)
	dr.Topics = append(dr.Topics, drt)
	dr.SetVersion(2)
	out = append(out, dr)

	// Counts past maxAdminPartitions are refused at the top level; null
	// replicas and topics take their own paths.
	el := kmsg.NewPtrElectLeadersRequest()
	elt := kmsg.NewElectLeadersRequestTopic()
	elt.Topic, elt.Partitions = "fuzz", make([]int32, maxAdminPartitions+1)
	el.Topics = append(el.Topics, elt)
	el.SetVersion(2)
	out = append(out, el)
	elAll := kmsg.NewPtrElectLeadersRequest()
	elAll.SetVersion(1)
	out = append(out, elAll)
	ap := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	apt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	apt.Topic = "fuzz"
	apt.Partitions = append(apt.Partitions, kmsg.NewAlterPartitionAssignmentsRequestTopicPartition())
	ap.Topics = append(ap.Topics, apt)
	ap.SetVersion(1)
	out = append(out, ap)
	dl := kmsg.NewPtrDescribeLogDirsRequest()
	dl.SetVersion(4)
	out = append(out, dl)

	cp := kmsg.NewPtrCreatePartitionsRequest()
	cpt := kmsg.NewCreatePartitionsRequestTopic()
	cpt.Topic, cpt.Count = "fuzz", 3
	cp.Topics = append(cp.Topics, cpt)
	cp.ValidateOnly = true
	cp.SetVersion(3)
	out = append(out, cp)
	return out
}

// seedBuilders builds one valid request per served API key; versions
// other than the request's own read only the fields they have, so both
// the old and the new form of a field are filled in.
var seedBuilders = map[kmsg.Key]func() kmsg.Request{
	kmsg.Produce: func() kmsg.Request {
		r := kmsg.NewPtrProduceRequest()
		r.Acks, r.TimeoutMillis = -1, 1000
		t := kmsg.NewProduceRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewProduceRequestTopicPartition()
		p.Records = segmentstest.Batch("seed")
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.Fetch: func() kmsg.Request {
		r := kmsg.NewPtrFetchRequest()
		r.MaxWaitMillis, r.MinBytes, r.MaxBytes, r.ReplicaID = 10, 1, 1<<20, -1
		t := kmsg.NewFetchRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition, p.PartitionMaxBytes = 1, 1<<20
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.ListOffsets: func() kmsg.Request {
		r := kmsg.NewPtrListOffsetsRequest()
		r.ReplicaID = -1
		t := kmsg.NewListOffsetsRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewListOffsetsRequestTopicPartition()
		p.Timestamp = -2
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.Metadata: func() kmsg.Request {
		r := kmsg.NewPtrMetadataRequest()
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr("fuzz")
		r.Topics = append(r.Topics, t)
		r.AllowAutoTopicCreation = true
		return r
	},
	kmsg.OffsetCommit: func() kmsg.Request {
		r := kmsg.NewPtrOffsetCommitRequest()
		r.Group, r.Generation, r.RetentionTimeMillis = "fuzz-group", -1, -1
		t := kmsg.NewOffsetCommitRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Offset, p.Metadata = 0, kmsg.StringPtr("m")
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.OffsetFetch: func() kmsg.Request {
		r := kmsg.NewPtrOffsetFetchRequest()
		r.Group = "fuzz-group"
		t := kmsg.NewOffsetFetchRequestTopic()
		t.Topic, t.Partitions = "fuzz", []int32{0, 1}
		r.Topics = append(r.Topics, t)
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = "fuzz-group"
		gt := kmsg.NewOffsetFetchRequestGroupTopic()
		gt.Topic, gt.Partitions = "fuzz", []int32{0, 1}
		g.Topics = append(g.Topics, gt)
		r.Groups = append(r.Groups, g)
		return r
	},
	kmsg.FindCoordinator: func() kmsg.Request {
		r := kmsg.NewPtrFindCoordinatorRequest()
		r.CoordinatorKey, r.CoordinatorKeys = "fuzz-group", []string{"fuzz-group"}
		return r
	},
	kmsg.JoinGroup: func() kmsg.Request {
		r := kmsg.NewPtrJoinGroupRequest()
		r.Group, r.SessionTimeoutMillis, r.RebalanceTimeoutMillis = "fuzz-join", 10000, 1000
		r.ProtocolType = "consumer"
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = []string{"fuzz"}
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", meta.AppendTo(nil)
		r.Protocols = append(r.Protocols, p)
		return r
	},
	kmsg.Heartbeat: func() kmsg.Request {
		r := kmsg.NewPtrHeartbeatRequest()
		r.Group, r.Generation, r.MemberID = "fuzz-join", 1, "m"
		return r
	},
	kmsg.LeaveGroup: func() kmsg.Request {
		r := kmsg.NewPtrLeaveGroupRequest()
		r.Group, r.MemberID = "fuzz-join", "m"
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = "m"
		r.Members = append(r.Members, m)
		return r
	},
	kmsg.SyncGroup: func() kmsg.Request {
		r := kmsg.NewPtrSyncGroupRequest()
		r.Group, r.Generation, r.MemberID = "fuzz-join", 1, "m"
		r.ProtocolType, r.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID = "m"
		r.GroupAssignment = append(r.GroupAssignment, a)
		return r
	},
	kmsg.DescribeGroups: func() kmsg.Request {
		r := kmsg.NewPtrDescribeGroupsRequest()
		r.Groups = []string{"fuzz-group", "fuzz-join"}
		return r
	},
	kmsg.ListGroups: func() kmsg.Request {
		r := kmsg.NewPtrListGroupsRequest()
		r.StatesFilter, r.TypesFilter = []string{"Empty", "Stable"}, []string{"classic", "consumer"}
		return r
	},
	kmsg.ApiVersions: func() kmsg.Request {
		r := kmsg.NewPtrApiVersionsRequest()
		r.ClientSoftwareName, r.ClientSoftwareVersion = "fuzz", "1"
		return r
	},
	kmsg.CreateTopics: func() kmsg.Request {
		r := kmsg.NewPtrCreateTopicsRequest()
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = "fuzz-seed", 2, 1
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = "cleanup.policy", kmsg.StringPtr("compact")
		t.Configs = append(t.Configs, c)
		r.Topics = append(r.Topics, t)
		r.TimeoutMillis, r.ValidateOnly = 1000, true
		return r
	},
	kmsg.DeleteTopics: func() kmsg.Request {
		r := kmsg.NewPtrDeleteTopicsRequest()
		r.TopicNames, r.TimeoutMillis = []string{"fuzz-gone"}, 1000
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.Topic = kmsg.StringPtr("fuzz-gone")
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.DeleteRecords: func() kmsg.Request {
		r := kmsg.NewPtrDeleteRecordsRequest()
		t := kmsg.NewDeleteRecordsRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewDeleteRecordsRequestTopicPartition()
		p.Partition, p.Offset = 0, 0
		t.Partitions = append(t.Partitions, p)
		r.Topics, r.TimeoutMillis = append(r.Topics, t), 1000
		return r
	},
	kmsg.InitProducerID: func() kmsg.Request {
		r := kmsg.NewPtrInitProducerIDRequest()
		r.TransactionTimeoutMillis = 60000
		return r
	},
	kmsg.OffsetForLeaderEpoch: func() kmsg.Request {
		r := kmsg.NewPtrOffsetForLeaderEpochRequest()
		r.ReplicaID = -1
		t := kmsg.NewOffsetForLeaderEpochRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		p.Partition, p.CurrentLeaderEpoch, p.LeaderEpoch = 0, 0, 0
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.DescribeConfigs: func() kmsg.Request {
		r := kmsg.NewPtrDescribeConfigsRequest()
		t := kmsg.NewDescribeConfigsRequestResource()
		t.ResourceType, t.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
		b := kmsg.NewDescribeConfigsRequestResource()
		b.ResourceType, b.ResourceName = kmsg.ConfigResourceTypeBroker, ""
		r.Resources = append(r.Resources, t, b)
		r.IncludeSynonyms, r.IncludeDocumentation = true, true
		return r
	},
	kmsg.AlterConfigs: func() kmsg.Request {
		r := kmsg.NewPtrAlterConfigsRequest()
		res := kmsg.NewAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = "retention.ms", kmsg.StringPtr("86400000")
		res.Configs = append(res.Configs, c)
		r.Resources, r.ValidateOnly = append(r.Resources, res), true
		return r
	},
	kmsg.CreatePartitions: func() kmsg.Request {
		r := kmsg.NewPtrCreatePartitionsRequest()
		t := kmsg.NewCreatePartitionsRequestTopic()
		t.Topic, t.Count = "fuzz", 4
		r.Topics, r.TimeoutMillis, r.ValidateOnly = append(r.Topics, t), 1000, true
		return r
	},
	kmsg.DeleteGroups: func() kmsg.Request {
		r := kmsg.NewPtrDeleteGroupsRequest()
		r.Groups = []string{"fuzz-gone"}
		return r
	},
	kmsg.IncrementalAlterConfigs: func() kmsg.Request {
		r := kmsg.NewPtrIncrementalAlterConfigsRequest()
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = "retention.bytes", kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("1048576")
		res.Configs = append(res.Configs, c)
		r.Resources, r.ValidateOnly = append(r.Resources, res), true
		return r
	},
	kmsg.OffsetDelete: func() kmsg.Request {
		r := kmsg.NewPtrOffsetDeleteRequest()
		r.Group = "fuzz-group"
		t := kmsg.NewOffsetDeleteRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewOffsetDeleteRequestTopicPartition()
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.DescribeCluster: func() kmsg.Request {
		r := kmsg.NewPtrDescribeClusterRequest()
		r.IncludeClusterAuthorizedOperations, r.EndpointType = true, 1
		return r
	},
	kmsg.ConsumerGroupHeartbeat: func() kmsg.Request {
		r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		r.Group, r.MemberID, r.MemberEpoch = "fuzz-848", "fuzz-member-0000000001", 0
		r.RebalanceTimeoutMillis, r.SubscribedTopicNames = 5000, []string{"fuzz"}
		r.ServerAssignor = kmsg.StringPtr("uniform")
		r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		return r
	},
	kmsg.ConsumerGroupDescribe: func() kmsg.Request {
		r := kmsg.NewPtrConsumerGroupDescribeRequest()
		r.Groups = []string{"fuzz-848"}
		return r
	},
	// On the plaintext connections of these seeds, SASL requests get
	// ILLEGAL_SASL_STATE; FuzzSASLExchange drives real exchanges.
	kmsg.SASLHandshake: func() kmsg.Request {
		r := kmsg.NewPtrSASLHandshakeRequest()
		r.Mechanism = "SCRAM-SHA-256"
		return r
	},
	kmsg.CreateACLs: func() kmsg.Request {
		r := kmsg.NewPtrCreateACLsRequest()
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, "fuzz", kmsg.ACLResourcePatternTypePrefixed
		c.Principal, c.Host = "User:alice", "*"
		c.Operation, c.PermissionType = kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
		r.Creations = append(r.Creations, c)
		return r
	},
	kmsg.DescribeACLs: func() kmsg.Request {
		r := kmsg.NewPtrDescribeACLsRequest()
		r.ResourceType, r.ResourceName, r.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("fuzz"), kmsg.ACLResourcePatternTypeMatch
		r.Operation, r.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		return r
	},
	kmsg.DeleteACLs: func() kmsg.Request {
		r := kmsg.NewPtrDeleteACLsRequest()
		f := kmsg.NewDeleteACLsRequestFilter()
		f.ResourceType, f.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
		f.Principal = kmsg.StringPtr("User:alice")
		f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		r.Filters = append(r.Filters, f)
		return r
	},
	kmsg.DescribeUserSCRAMCredentials: func() kmsg.Request {
		r := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
		r.Users = []kmsg.DescribeUserSCRAMCredentialsRequestUser{{Name: "fuzz-user"}}
		return r
	},
	kmsg.AlterUserSCRAMCredentials: func() kmsg.Request {
		r := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
		u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		u.Name, u.Mechanism, u.Iterations = "fuzz-user", 2, 4096
		u.Salt, u.SaltedPassword = []byte("fuzz-salt-fuzz-salt"), make([]byte, 64)
		r.Upsertions = append(r.Upsertions, u)
		return r
	},
	kmsg.DescribeClientQuotas: func() kmsg.Request {
		r := kmsg.NewPtrDescribeClientQuotasRequest()
		c := kmsg.NewDescribeClientQuotasRequestComponent()
		c.EntityType, c.MatchType, c.Match = "user", kmsg.QuotasMatchTypeExact, kmsg.StringPtr("fuzz-user")
		d := kmsg.NewDescribeClientQuotasRequestComponent()
		d.EntityType, d.MatchType = "client-id", kmsg.QuotasMatchTypeAny
		r.Components = append(r.Components, c, d)
		return r
	},
	kmsg.AlterClientQuotas: func() kmsg.Request {
		r := kmsg.NewPtrAlterClientQuotasRequest()
		e := kmsg.NewAlterClientQuotasRequestEntry()
		u := kmsg.NewAlterClientQuotasRequestEntryEntity()
		u.Type, u.Name = "user", kmsg.StringPtr("fuzz-user")
		cl := kmsg.NewAlterClientQuotasRequestEntryEntity()
		cl.Type = "client-id" // the default client-id
		set := kmsg.NewAlterClientQuotasRequestEntryOp()
		set.Key, set.Value = "producer_byte_rate", 1<<20
		del := kmsg.NewAlterClientQuotasRequestEntryOp()
		del.Key, del.Remove = "consumer_byte_rate", true
		e.Entity, e.Ops = append(e.Entity, u, cl), append(e.Ops, set, del)
		r.Entries, r.ValidateOnly = append(r.Entries, e), true
		return r
	},
	kmsg.DescribeLogDirs: func() kmsg.Request {
		r := kmsg.NewPtrDescribeLogDirsRequest()
		t := kmsg.NewDescribeLogDirsRequestTopic()
		t.Topic, t.Partitions = "fuzz", []int32{0, 1, 1, 7, -1}
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.AlterPartitionAssignments: func() kmsg.Request {
		r := kmsg.NewPtrAlterPartitionAssignmentsRequest()
		t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		p.Partition, p.Replicas = 0, []int32{0}
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.ListPartitionReassignments: func() kmsg.Request {
		r := kmsg.NewPtrListPartitionReassignmentsRequest()
		t := kmsg.NewListPartitionReassignmentsRequestTopic()
		t.Topic, t.Partitions = "fuzz", []int32{0, 1}
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.ElectLeaders: func() kmsg.Request {
		r := kmsg.NewPtrElectLeadersRequest()
		t := kmsg.NewElectLeadersRequestTopic()
		t.Topic, t.Partitions = "fuzz", []int32{0, 1}
		r.Topics = append(r.Topics, t)
		return r
	},
	kmsg.SASLAuthenticate: func() kmsg.Request {
		r := kmsg.NewPtrSASLAuthenticateRequest()
		r.SASLAuthBytes = []byte("n,,n=alice,r=fuzznonce")
		return r
	},
}

// apiSeeds is one valid request of every served API at its lowest and at
// its highest served version. topicID is the id of topic "fuzz" for the
// versions that name topics by id.
func apiSeeds(t testing.TB, topicID [16]byte) []kmsg.Request {
	keys := make([]int16, 0, len(apis))
	for k := range apis {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []kmsg.Request
	for _, k := range keys {
		build, ok := seedBuilders[kmsg.Key(k)]
		if !ok {
			t.Fatalf("%s (key %d) is served but has no fuzz seed in seedBuilders", kmsg.NameForKey(k), k)
		}
		for _, v := range []int16{apis[k].min, apis[k].max} {
			r := build()
			r.SetVersion(v)
			if f, ok := r.(*kmsg.FetchRequest); ok {
				f.Topics[0].TopicID = topicID
			}
			out = append(out, r)
		}
	}
	return out
}

// requestBody is a request frame without its length prefix: header and
// body, as conn.handle takes it.
func requestBody(r kmsg.Request, corr int32) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, r, corr)[4:]
}

// FuzzRequest feeds arbitrary request frames to a connection's handler:
// decoding and serving must never panic, and any response must encode.
func FuzzRequest(f *testing.F) {
	g := newTestGateway(f)
	for i, r := range append(seedRequests(), apiSeeds(f, fuzzTopicID(f, g))...) {
		f.Add(requestBody(r, int32(i)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		handleOnce(t, g, body)
	})
}

// handleOnce serves one frame body on a fresh connection, waits a little
// for an asynchronous reply and encodes the response.
func handleOnce(t *testing.T, g *Gateway, body []byte) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := newConn(g, server)
	// Long polls and blocked produces end with the connection.
	c.ctx, c.cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer c.cancel()
	r, err := c.handle(body)
	if err != nil {
		return // the connection would be closed: fine
	}
	select {
	case <-r.done:
	case <-time.After(2 * time.Second):
		// Some requests may legitimately wait longer (a join waits
		// for its group); only panics are failures here.
		return
	}
	if r.resp != nil {
		appendResponse(nil, r)
	}
}

// TestSeedRequestsAnswered checks that every seed request is served (not
// refused) and answered without an error that means the seed is invalid,
// so that the fuzz corpus starts from real handlers.
func TestSeedRequestsAnswered(t *testing.T) {
	g := newTestGateway(t)
	for i, req := range append(seedRequests(), apiSeeds(t, fuzzTopicID(t, g))...) {
		client, server := net.Pipe()
		c := newConn(g, server)
		r, err := c.handle(requestBody(req, int32(i)))
		if err != nil {
			t.Errorf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
		} else {
			select {
			case <-r.done:
				if r.resp == nil {
					t.Errorf("%s v%d: no response", kmsg.NameForKey(req.Key()), req.GetVersion())
				} else if code := firstErrorCode(r.resp); code == kerr.CorruptMessage.Code || code == kerr.InvalidRequest.Code ||
					code == kerr.UnknownServerError.Code || code == kerr.UnsupportedVersion.Code {
					t.Errorf("%s v%d: answered %s", kmsg.NameForKey(req.Key()), req.GetVersion(), kerr.ErrorForCode(code))
				} else {
					appendResponse(nil, r)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("%s v%d: no answer in 10s", kmsg.NameForKey(req.Key()), req.GetVersion())
			}
		}
		c.cancel()
		client.Close()
		server.Close()
	}
}

// fuzzTopicID is the id of g's topic "fuzz".
func fuzzTopicID(t testing.TB, g *Gateway) [16]byte {
	tp, err := g.topics.ByName(context.Background(), "fuzz")
	if err != nil {
		t.Fatal(err)
	}
	return tp.ID
}

// TestEveryAPISeeded checks that the fuzz corpus has every served API at
// its lowest and highest version.
func TestEveryAPISeeded(t *testing.T) {
	seen := map[[2]int16]bool{}
	for _, r := range apiSeeds(t, [16]byte{}) {
		seen[[2]int16{r.Key(), r.GetVersion()}] = true
	}
	for k, a := range apis {
		for _, v := range []int16{a.min, a.max} {
			if !seen[[2]int16{k, v}] {
				t.Errorf("%s v%d has no seed", kmsg.NameForKey(k), v)
			}
		}
	}
}

// firstErrorCode finds the first non-zero error_code field anywhere in a
// response, by reflection, so that seeds answered with "your request is
// malformed" are caught whatever the response type.
func firstErrorCode(resp kmsg.Response) int16 {
	var walk func(v reflect.Value) int16
	walk = func(v reflect.Value) int16 {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				return 0
			}
			return walk(v.Elem())
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				f := v.Type().Field(i)
				if f.Name == "ErrorCode" && f.Type.Kind() == reflect.Int16 {
					if c := int16(v.Field(i).Int()); c != 0 {
						return c
					}
					continue
				}
				if c := walk(v.Field(i)); c != 0 {
					return c
				}
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return 0
			}
			for i := 0; i < v.Len(); i++ {
				if c := walk(v.Index(i)); c != 0 {
					return c
				}
			}
		}
		return 0
	}
	return walk(reflect.ValueOf(resp))
}

// testConn is a connection to g over an in-memory pipe, closed with t.
func testConn(t testing.TB, g *Gateway) *conn {
	client, server := net.Pipe()
	c := newConn(g, server)
	t.Cleanup(func() {
		c.cancel()
		client.Close()
	})
	return c
}

// produceTestBatches produces one batch of the given values to each given
// partition of topic "fuzz" (acks=-1) and fails t on any error.
func produceTestBatches(t testing.TB, c *conn, batches map[int32][]string) {
	t.Helper()
	pr := kmsg.NewPtrProduceRequest()
	pr.Acks, pr.TimeoutMillis = -1, 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzz"
	for p, values := range batches {
		pp := kmsg.NewProduceRequestTopicPartition()
		pp.Partition, pp.Records = p, segmentstest.Batch(values...)
		pt.Partitions = append(pt.Partitions, pp)
	}
	pr.Topics = append(pr.Topics, pt)
	pr.SetVersion(9)
	r, err := c.handle(requestBody(pr, 1))
	if err != nil {
		t.Fatal(err)
	}
	<-r.done
	for _, p := range r.resp.(*kmsg.ProduceResponse).Topics[0].Partitions {
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			t.Fatalf("produce to partition %d: %v", p.Partition, err)
		}
	}
}
