-- Events written from now on go to segment files (see segment.go): each
-- segment is a file of its own with the events table's columns, written
-- with no secondary index and indexed in bulk once it is full. The events
-- table of this file stays as the oldest segment, indexed as it is.
--
-- event_keys is the one index of every stored event's key, whichever
-- segment holds its row: it keeps Append idempotent across segments and
-- leads Get to the row (seq). event_segments lists the segment files.
CREATE TABLE event_keys (
	idkey INTEGER PRIMARY KEY,
	seq   INTEGER NOT NULL
);

INSERT INTO event_keys (idkey, seq) SELECT idkey, seq FROM events;

-- state: 'open' (the one being written), 'sealing' (full, being indexed)
-- or 'sealed'. hi is the last seq committed to the segment; rows, min_ts
-- and max_ts are set when it is sealed.
CREATE TABLE event_segments (
	lo     INTEGER PRIMARY KEY,
	file   TEXT    NOT NULL,
	state  TEXT    NOT NULL,
	hi     INTEGER NOT NULL,
	rows   INTEGER,
	min_ts INTEGER,
	max_ts INTEGER
);
