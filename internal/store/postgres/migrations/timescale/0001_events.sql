-- Events as a TimescaleDB hypertable with daily chunks: used instead of
-- ../0001_events.sql when the extension can be created at first start.
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
);
SELECT create_hypertable('events', 'ts', chunk_time_interval => interval '1 day');
