-- Appends were dominated by index maintenance. This rebuilds events with:
--
-- * idkey, a 64-bit integer derived from the id (see idKey in sqlite.go),
--   as the unique key that makes appends idempotent. The id stays a TEXT
--   column for results and the cursor, but is no longer indexed: the
--   unique index over 32-character text was the most expensive index of
--   all (random inserts into entries three times wider). Two ids whose
--   keys collide take the next free key in an 8-key slot, so lookups scan
--   idkey BETWEEN k AND k+7 and compare the id.
-- * partial indexes on the columns most events leave empty (user, host,
--   rule), so a row only pays for the indexes of the fields it has.
--
-- The new table is filled here; the Go side of the migration places any
-- row whose key collided (see migrateHooks), and 0005 swaps the tables.
-- seq values are kept, so the FTS index, which points at seq, stays valid.
CREATE TABLE events_v4 (
	seq       INTEGER PRIMARY KEY,
	idkey     INTEGER NOT NULL UNIQUE,
	id        TEXT    NOT NULL,
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

INSERT OR IGNORE INTO events_v4 (seq, idkey, id, ts, kind, dataset, module, action, outcome, severity,
	src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data)
SELECT seq, mcpsoc_id_key(id), id, ts, kind, dataset, module, action, outcome, severity,
	src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data
FROM events ORDER BY seq;
