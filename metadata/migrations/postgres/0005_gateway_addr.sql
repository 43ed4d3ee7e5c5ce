-- A gateway's registration owns its advertised address: registering takes
-- it over from any other node id, so two live gateways cannot share one.
-- Of the rows that already share an address, the freshest stays.
DELETE FROM gateways WHERE EXISTS (SELECT 1 FROM gateways g WHERE g.addr = gateways.addr
	AND (g.heartbeat_at > gateways.heartbeat_at OR (g.heartbeat_at = gateways.heartbeat_at AND g.node_id > gateways.node_id)));
CREATE UNIQUE INDEX gateways_addr ON gateways (addr);
