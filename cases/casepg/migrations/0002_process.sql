-- The 137 process (cases/process): each case's running deadline is
-- cases.due_at with its meaning in timer_kind; the scheduler claims due
-- cases through cases_due, so a pass costs what is due, not what is open.
ALTER TABLE cases ADD COLUMN timer_kind text NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN level_started_at timestamptz;
-- A deadline stopped while the case waits for the citizen.
ALTER TABLE cases ADD COLUMN paused_kind text NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN paused_left_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN duplicate_of text NOT NULL DEFAULT '';
CREATE INDEX cases_due ON cases (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX cases_duplicates ON cases (duplicate_of) WHERE duplicate_of <> '';
-- Duplicate detection: open cases of a service inside a lat/long box.
CREATE INDEX cases_open_geo ON cases (service_code, lat, long) WHERE status <> 'closed' AND lat IS NOT NULL;

-- Deliveries written with the state change that causes them.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    event_id     text NOT NULL UNIQUE,
    channel      text NOT NULL,
    kind         text NOT NULL,
    target       text NOT NULL DEFAULT '',
    secret_env   text NOT NULL DEFAULT '',
    body         bytea NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'pending',
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    delivered_at timestamptz
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status, id DESC);
