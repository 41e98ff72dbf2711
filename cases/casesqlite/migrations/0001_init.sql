-- Dargah case store, SQLite dialect. Times are INTEGER nanoseconds since
-- the Unix epoch, UTC: they sort and compare as numbers. Text columns
-- default to '' so the store never has to tell NULL from empty. STRICT
-- tables make SQLite reject a value of the wrong type.

-- The ledger: one row per accepted message, idempotent by portal key.
CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    portal            TEXT NOT NULL,
    portal_message_id TEXT NOT NULL,
    payload           TEXT NOT NULL, -- the whole gateway.Message, JSON
    status            TEXT NOT NULL, -- accepted, decided, dead
    outcome           TEXT NOT NULL DEFAULT '',
    rule              TEXT NOT NULL DEFAULT '',
    reply             TEXT NOT NULL DEFAULT '',
    service_code      TEXT NOT NULL DEFAULT '',
    tracking_code     TEXT NOT NULL DEFAULT '',
    linked_tracking   TEXT NOT NULL DEFAULT '',
    accepted_at       INTEGER NOT NULL,
    decided_at        INTEGER,
    dead_reason       TEXT NOT NULL DEFAULT '',
    UNIQUE (portal, portal_message_id)
) STRICT;
-- The sweeper reads only undecided messages; keep that index small.
CREATE INDEX messages_undecided ON messages (accepted_at, id) WHERE status = 'accepted';

CREATE TABLE cases (
    id                  INTEGER PRIMARY KEY, -- rowid; AUTOINCREMENT would cost a page write per insert
    tracking_code       TEXT NOT NULL UNIQUE,
    status              TEXT NOT NULL,
    service_code        TEXT NOT NULL DEFAULT '',
    portal              TEXT NOT NULL DEFAULT '',
    portal_kind         TEXT NOT NULL DEFAULT '',
    source_message_id   TEXT UNIQUE, -- NULL for cases not opened from a message
    thread_key          TEXT NOT NULL DEFAULT '',
    contact_phone       TEXT NOT NULL DEFAULT '',
    contact_telegram_id TEXT NOT NULL DEFAULT '',
    contact_email       TEXT NOT NULL DEFAULT '',
    contact_name        TEXT NOT NULL DEFAULT '',
    contact_language    TEXT NOT NULL DEFAULT '',
    description         TEXT NOT NULL DEFAULT '',
    lat                 REAL, -- NULL lat/long: no location at all
    long                REAL,
    address             TEXT NOT NULL DEFAULT '',
    language            TEXT NOT NULL DEFAULT '',
    attachments         TEXT NOT NULL DEFAULT '[]', -- JSON array of attachment ids
    rule                TEXT NOT NULL DEFAULT '',
    department          TEXT NOT NULL DEFAULT '',
    district            TEXT NOT NULL DEFAULT '',
    escalation_level    INTEGER NOT NULL DEFAULT 0,
    due_at              INTEGER,
    answer              TEXT NOT NULL DEFAULT '',
    rating              INTEGER NOT NULL DEFAULT 0,
    outcome             TEXT NOT NULL DEFAULT '',
    opened_at           INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    closed_at           INTEGER
) STRICT;
-- CaseFindOpenByThread: newest open case of a portal thread.
CREATE INDEX cases_thread_open ON cases (portal, thread_key, opened_at DESC) WHERE status <> 'closed';
-- CaseSearch: newest first, optionally by service code or status.
CREATE INDEX cases_opened ON cases (opened_at DESC, id DESC);
CREATE INDEX cases_service_opened ON cases (service_code, opened_at DESC);
CREATE INDEX cases_status_opened ON cases (status, opened_at DESC);

CREATE TABLE case_events (
    id      INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    actor   TEXT NOT NULL DEFAULT '',
    note    TEXT NOT NULL DEFAULT '',
    public  INTEGER NOT NULL DEFAULT 0,
    data    TEXT -- JSON object, NULL when empty
) STRICT;
CREATE INDEX case_events_case ON case_events (case_id, at, id);

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    content_type TEXT NOT NULL DEFAULT '',
    filename     TEXT NOT NULL DEFAULT '',
    size         INTEGER NOT NULL,
    data         BLOB NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE kv (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    expires_at INTEGER -- NULL: kept until deleted
) STRICT;
CREATE INDEX kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;
