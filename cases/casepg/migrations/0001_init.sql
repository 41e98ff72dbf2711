-- Dargah case store, PostgreSQL dialect. Times are timestamptz (UTC in,
-- microseconds kept); text columns default to '' so the store never has to
-- tell NULL from empty.

-- The ledger: one row per accepted message, idempotent by portal key.
CREATE TABLE messages (
    id                text PRIMARY KEY,
    portal            text NOT NULL,
    portal_message_id text NOT NULL,
    payload           jsonb NOT NULL, -- the whole gateway.Message
    status            text NOT NULL,  -- accepted, decided, dead
    outcome           text NOT NULL DEFAULT '',
    rule              text NOT NULL DEFAULT '',
    reply             text NOT NULL DEFAULT '',
    service_code      text NOT NULL DEFAULT '',
    tracking_code     text NOT NULL DEFAULT '',
    linked_tracking   text NOT NULL DEFAULT '',
    accepted_at       timestamptz NOT NULL,
    decided_at        timestamptz,
    dead_reason       text NOT NULL DEFAULT '',
    UNIQUE (portal, portal_message_id)
);
-- The sweeper reads only undecided messages; keep that index small.
CREATE INDEX messages_undecided ON messages (accepted_at, id) WHERE status = 'accepted';

CREATE TABLE cases (
    id                  bigserial PRIMARY KEY,
    tracking_code       text NOT NULL UNIQUE,
    status              text NOT NULL,
    service_code        text NOT NULL DEFAULT '',
    portal              text NOT NULL DEFAULT '',
    portal_kind         text NOT NULL DEFAULT '',
    source_message_id   text UNIQUE, -- NULL for cases not opened from a message
    thread_key          text NOT NULL DEFAULT '',
    contact_phone       text NOT NULL DEFAULT '',
    contact_telegram_id text NOT NULL DEFAULT '',
    contact_email       text NOT NULL DEFAULT '',
    contact_name        text NOT NULL DEFAULT '',
    contact_language    text NOT NULL DEFAULT '',
    description         text NOT NULL DEFAULT '',
    lat                 double precision, -- NULL lat/long: no location at all
    long                double precision,
    address             text NOT NULL DEFAULT '',
    language            text NOT NULL DEFAULT '',
    attachments         text[] NOT NULL DEFAULT '{}',
    rule                text NOT NULL DEFAULT '',
    department          text NOT NULL DEFAULT '',
    district            text NOT NULL DEFAULT '',
    escalation_level    integer NOT NULL DEFAULT 0,
    due_at              timestamptz,
    answer              text NOT NULL DEFAULT '',
    rating              integer NOT NULL DEFAULT 0,
    outcome             text NOT NULL DEFAULT '',
    opened_at           timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    closed_at           timestamptz
);
-- CaseFindOpenByThread: newest open case of a portal thread.
CREATE INDEX cases_thread_open ON cases (portal, thread_key, opened_at DESC) WHERE status <> 'closed';
-- CaseSearch: newest first, optionally by service code or status.
CREATE INDEX cases_opened ON cases (opened_at DESC, id DESC);
CREATE INDEX cases_service_opened ON cases (service_code, opened_at DESC);
CREATE INDEX cases_status_opened ON cases (status, opened_at DESC);

CREATE TABLE case_events (
    id      bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL,
    kind    text NOT NULL,
    actor   text NOT NULL DEFAULT '',
    note    text NOT NULL DEFAULT '',
    public  boolean NOT NULL DEFAULT false,
    data    jsonb
);
CREATE INDEX case_events_case ON case_events (case_id, at, id);

CREATE TABLE attachments (
    id           text PRIMARY KEY,
    content_type text NOT NULL DEFAULT '',
    filename     text NOT NULL DEFAULT '',
    size         bigint NOT NULL,
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE kv (
    key        text PRIMARY KEY,
    value      bytea NOT NULL,
    expires_at timestamptz -- NULL: kept until deleted
);
CREATE INDEX kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;
