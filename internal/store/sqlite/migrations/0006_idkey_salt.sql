-- Keys become secret and ordered (see idkey.go): an id's key is a keyed
-- hash (HMAC-SHA-256 under a per-store random salt) of the id without its
-- last three hex digits, followed by those digits. The Go side of the
-- migration (createSalt) creates the salt and rekeys every row. A row
-- whose key another id holds goes to the overflow: a negative key, found
-- through events_overflow. The slots of 0004 (eight keys per id) are gone.
CREATE TABLE store_secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE events_overflow (
	id    TEXT PRIMARY KEY,
	base  INTEGER NOT NULL,
	idkey INTEGER NOT NULL
) WITHOUT ROWID;
