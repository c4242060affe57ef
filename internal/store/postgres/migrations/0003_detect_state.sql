-- Detection state (correlation windows, dedup windows, anomaly baselines)
-- saved by serve so a restart or another instance resumes it. One row per
-- key; version is the blob's format version.
CREATE TABLE IF NOT EXISTS detect_state (
	key        text PRIMARY KEY,
	version    integer NOT NULL,
	data       bytea NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
