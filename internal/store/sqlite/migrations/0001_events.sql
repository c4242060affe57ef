-- Events: the hot columns are indexed; data holds the whole ECS event as JSON.
-- seq is the integer key the FTS5 index points to; id is the content hash
-- that makes appends idempotent. ts is microseconds since the Unix epoch;
-- IP columns are 4- or 16-byte BLOBs so a CIDR block is a BLOB range.
CREATE TABLE events (
	seq       INTEGER PRIMARY KEY,
	id        TEXT    NOT NULL UNIQUE,
	ts        INTEGER NOT NULL,
	kind      TEXT,
	dataset   TEXT,
	module    TEXT,
	action    TEXT,
	outcome   TEXT,
	severity  INTEGER,
	src_ip    BLOB,
	src_port  INTEGER,
	dst_ip    BLOB,
	dst_port  INTEGER,
	host_name TEXT,
	user_name TEXT,
	rule_id   TEXT,
	message   TEXT,
	data      TEXT    NOT NULL
);

CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_src_ip_ts ON events (src_ip, ts);
CREATE INDEX events_dst_ip_ts ON events (dst_ip, ts);
CREATE INDEX events_dst_port_ts ON events (dst_port, ts);
CREATE INDEX events_user_name_ts ON events (user_name, ts);
CREATE INDEX events_host_name_ts ON events (host_name, ts);
CREATE INDEX events_rule_id_ts ON events (rule_id, ts);
CREATE INDEX events_dataset_ts ON events (dataset, ts);

-- Substring search on message: a trigram index answers "term" phrase
-- queries of three characters or more. External content: the text is not
-- stored twice.
CREATE VIRTUAL TABLE events_fts USING fts5 (
	message,
	content = 'events',
	content_rowid = 'seq',
	tokenize = 'trigram'
);

CREATE TRIGGER events_fts_insert AFTER INSERT ON events WHEN new.message IS NOT NULL BEGIN
	INSERT INTO events_fts (rowid, message) VALUES (new.seq, new.message);
END;

CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.message IS NOT NULL BEGIN
	INSERT INTO events_fts (events_fts, rowid, message) VALUES ('delete', old.seq, old.message);
END;
