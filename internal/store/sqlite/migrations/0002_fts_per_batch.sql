-- Index message in FTS5 once per appended batch instead of once per row:
-- the per-row trigger made FTS5 flush a tiny segment at every statement
-- savepoint, which was most of the cost of an append. Append now runs
-- INSERT INTO events_fts ... SELECT over the rows the batch added.
DROP TRIGGER events_fts_insert;
