-- The 137 process (cases/process): each case's running deadline is
-- cases.due_at with its meaning in timer_kind; the scheduler reads due
-- cases through cases_due, so a pass costs what is due, not what is open.
ALTER TABLE cases ADD COLUMN timer_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN level_started_at INTEGER;
-- A deadline stopped while the case waits for the citizen.
ALTER TABLE cases ADD COLUMN paused_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN paused_left_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN duplicate_of TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_due ON cases (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX cases_duplicates ON cases (duplicate_of) WHERE duplicate_of <> '';
CREATE INDEX cases_open_geo ON cases (service_code, lat, long) WHERE status <> 'closed' AND lat IS NOT NULL;

-- Deliveries written with the state change that causes them.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL UNIQUE,
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL DEFAULT '',
    secret_env   TEXT NOT NULL DEFAULT '',
    body         BLOB NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox (next_at) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status, id DESC);
