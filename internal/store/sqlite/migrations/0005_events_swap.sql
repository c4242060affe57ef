-- Second half of 0004: replace events with events_v4 and index it.
DROP TABLE events;
ALTER TABLE events_v4 RENAME TO events;

CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_src_ip_ts ON events (src_ip, ts);
CREATE INDEX events_dst_ip_ts ON events (dst_ip, ts);
CREATE INDEX events_dst_port_ts ON events (dst_port, ts);
CREATE INDEX events_dataset_ts ON events (dataset, ts);
-- Partial: only rows that have the field are indexed. A term on the
-- field (user_name = ?) implies it is not NULL, so the planner uses them.
CREATE INDEX events_user_name_ts ON events (user_name, ts) WHERE user_name IS NOT NULL;
CREATE INDEX events_host_name_ts ON events (host_name, ts) WHERE host_name IS NOT NULL;
CREATE INDEX events_rule_id_ts ON events (rule_id, ts) WHERE rule_id IS NOT NULL;

CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.message IS NOT NULL BEGIN
	INSERT INTO events_fts (events_fts, rowid, message) VALUES ('delete', old.seq, old.message);
END;
