-- Detection state (correlation windows, dedup windows, anomaly baselines)
-- saved by serve so a restart or another instance resumes it. One row per
-- key; version is the blob's format version; updated_at is Unix
-- nanoseconds.
CREATE TABLE IF NOT EXISTS detect_state (
	key        TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	data       BLOB NOT NULL,
	updated_at INTEGER NOT NULL
);
