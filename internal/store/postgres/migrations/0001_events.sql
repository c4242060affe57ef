-- Events, partitioned by day on ts (native range partitioning). The store
-- creates the daily partitions ahead of time and on demand; retention drops
-- whole partitions. id is the content hash that makes appends idempotent
-- (ON CONFLICT DO NOTHING); the primary key must include the partition key,
-- and since ts is part of the hash, (id, ts) is as unique as id.
CREATE TABLE events (
	id        text COLLATE "C" NOT NULL,
	ts        timestamptz NOT NULL,
	kind      text,
	dataset   text,
	module    text,
	action    text,
	outcome   text,
	severity  bigint,
	src_ip    inet,
	src_port  integer,
	dst_ip    inet,
	dst_port  integer,
	host_name text,
	user_name text,
	rule_id   text,
	message   text,
	data      jsonb NOT NULL,
	PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
