-- Indexes on the parent cascade to every partition (and hypertable chunk).
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_src_ip_ts ON events (src_ip, ts);
CREATE INDEX events_dst_ip_ts ON events (dst_ip, ts);
CREATE INDEX events_dst_port_ts ON events (dst_port, ts);
CREATE INDEX events_user_name_ts ON events (user_name, ts);
CREATE INDEX events_host_name_ts ON events (host_name, ts);
CREATE INDEX events_rule_id_ts ON events (rule_id, ts);
CREATE INDEX events_dataset_ts ON events (dataset, ts);

-- mcpsoc_in_cidr backs CIDR terms on JSON fields (related.ip, client.ip):
-- text that is not an address is simply outside every block, as in the
-- SQLite function of the same name.
CREATE FUNCTION mcpsoc_in_cidr(addr text, block text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	RETURN addr::inet <<= block::inet;
EXCEPTION WHEN others THEN
	RETURN false;
END
$$;
