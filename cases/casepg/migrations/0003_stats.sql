-- Statistics and the archive (cases/stats.go).
--
-- stats_result_at and stats_max_level are kept by triggers, so every
-- lifecycle path is counted the same whichever code writes it: the first
-- result is the first "answered" or "closed" event, or the first change of
-- status to answered/verified/closed; the highest level is the largest
-- escalation_level the case had and the largest "level" of its
-- "escalated" events; the deadline is the first one the case had before
-- its result (due_at later holds other timers: feedback, follow-up). Names
-- carry stats_ so they cannot clash with the lifecycle's own columns.
ALTER TABLE cases
    ADD COLUMN stats_result_at timestamptz,
    ADD COLUMN stats_due_at timestamptz,
    ADD COLUMN stats_max_level integer NOT NULL DEFAULT 0;

CREATE FUNCTION dargah_cases_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.escalation_level > NEW.stats_max_level THEN
        NEW.stats_max_level := NEW.escalation_level;
    END IF;
    IF NEW.stats_due_at IS NULL AND NEW.due_at IS NOT NULL AND NEW.stats_result_at IS NULL
       AND NEW.status NOT IN ('answered', 'verified', 'closed') THEN
        NEW.stats_due_at := NEW.due_at;
    END IF;
    IF NEW.stats_result_at IS NULL AND NEW.status IN ('answered', 'verified', 'closed')
       AND NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.stats_result_at := NEW.updated_at;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cases_stats BEFORE UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION dargah_cases_stats();

CREATE FUNCTION dargah_case_events_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind IN ('answered', 'closed') THEN
        UPDATE cases SET stats_result_at = NEW.at
        WHERE id = NEW.case_id AND (stats_result_at IS NULL OR stats_result_at > NEW.at);
    ELSIF NEW.data->>'level' ~ '^[0-9]{1,6}$' THEN -- escalated; junk never fails the writer
        UPDATE cases SET stats_max_level = (NEW.data->>'level')::integer
        WHERE id = NEW.case_id AND stats_max_level < (NEW.data->>'level')::integer;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER case_events_stats AFTER INSERT ON case_events
    FOR EACH ROW WHEN (NEW.kind IN ('answered', 'closed', 'escalated'))
    EXECUTE FUNCTION dargah_case_events_stats();

-- Cases that existed before this migration.
UPDATE cases SET stats_max_level = escalation_level WHERE escalation_level > 0;
UPDATE cases c SET stats_result_at = e.at
FROM (SELECT case_id, min(at) AS at FROM case_events WHERE kind IN ('answered', 'closed') GROUP BY case_id) e
WHERE e.case_id = c.id;
UPDATE cases SET stats_result_at = closed_at WHERE stats_result_at IS NULL AND closed_at IS NOT NULL;
UPDATE cases SET stats_due_at = due_at WHERE stats_result_at IS NULL AND due_at IS NOT NULL;

-- Stats read decided messages by accepted time; the included columns let
-- the count run on the index alone.
CREATE INDEX messages_stats ON messages (accepted_at) INCLUDE (outcome, portal) WHERE decided_at IS NOT NULL;
-- The archive sweeper finds closed cases by closing time.
CREATE INDEX cases_closed ON cases (closed_at) WHERE status = 'closed';

-- The archive: a closed case's classification, kept after its personal
-- data is purged (archive_retention). No foreign key: the classification
-- outlives the case row if that is ever deleted.
CREATE TABLE case_archive (
    case_id       bigint PRIMARY KEY,
    tracking_code text NOT NULL,
    service_code  text NOT NULL,
    portal        text NOT NULL,
    portal_kind   text NOT NULL,
    department    text NOT NULL,
    district      text NOT NULL,
    outcome       text NOT NULL,
    rating        integer NOT NULL,
    max_level     integer NOT NULL,
    opened_at     timestamptz NOT NULL,
    due_at        timestamptz,
    result_at     timestamptz,
    closed_at     timestamptz NOT NULL,
    archived_at   timestamptz NOT NULL,
    purged_at     timestamptz
);
CREATE INDEX case_archive_unpurged ON case_archive (closed_at) WHERE purged_at IS NULL;

-- Daily rollups, so a year of statistics reads a few hundred rows a day
-- instead of every case. A day is a calendar day in Asia/Tehran, the
-- center's day. stats_days holds one row per day and breakdown group (dim
-- '' is the day's total); stats_days_msg one per day and portal. Triggers
-- append the day of every case or message whose figures change to
-- stats_dirty; Stats recomputes those days first (casepg/stats.go). The
-- dirty list is append-only with no key, so writers never wait on each
-- other; a refresh deletes only the rows it can see, so a change that
-- commits meanwhile leaves its row for the next refresh.
CREATE TABLE stats_dirty (day date NOT NULL);

CREATE TABLE stats_days (
    day         date NOT NULL,
    dim         text NOT NULL, -- '', portal, service, district, department, level
    key         text NOT NULL,
    cases       bigint NOT NULL,
    with_result bigint NOT NULL,
    within      bigint NOT NULL,
    result_secs float8 NOT NULL,
    rated       bigint NOT NULL,
    rating_sum  bigint NOT NULL,
    due_result  bigint NOT NULL, -- had a deadline and a result (late open cases are counted live)
    on_time     bigint NOT NULL,
    PRIMARY KEY (day, dim, key)
);

CREATE TABLE stats_days_msg (
    day      date NOT NULL,
    portal   text NOT NULL,
    decided  bigint NOT NULL,
    resolved bigint NOT NULL,
    PRIMARY KEY (day, portal)
);

CREATE FUNCTION dargah_stats_dirty_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (day) VALUES ((NEW.opened_at AT TIME ZONE 'Asia/Tehran')::date);
    IF TG_OP = 'UPDATE' AND OLD.opened_at <> NEW.opened_at THEN
        INSERT INTO stats_dirty (day) VALUES ((OLD.opened_at AT TIME ZONE 'Asia/Tehran')::date);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER cases_stats_dirty_insert AFTER INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION dargah_stats_dirty_case();
CREATE TRIGGER cases_stats_dirty_update AFTER UPDATE ON cases
    FOR EACH ROW WHEN ((OLD.portal, OLD.service_code, OLD.district, OLD.department, OLD.escalation_level,
        OLD.stats_max_level, OLD.rating, OLD.stats_result_at, OLD.stats_due_at, OLD.opened_at)
        IS DISTINCT FROM (NEW.portal, NEW.service_code, NEW.district, NEW.department, NEW.escalation_level,
        NEW.stats_max_level, NEW.rating, NEW.stats_result_at, NEW.stats_due_at, NEW.opened_at))
    EXECUTE FUNCTION dargah_stats_dirty_case();

CREATE FUNCTION dargah_stats_dirty_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (day) VALUES ((NEW.accepted_at AT TIME ZONE 'Asia/Tehran')::date);
    RETURN NULL;
END $$;
CREATE TRIGGER messages_stats_dirty AFTER UPDATE ON messages
    FOR EACH ROW WHEN (OLD.decided_at IS NULL AND NEW.decided_at IS NOT NULL)
    EXECUTE FUNCTION dargah_stats_dirty_message();

-- Everything before this migration is dirty once.
INSERT INTO stats_dirty (day) SELECT DISTINCT (opened_at AT TIME ZONE 'Asia/Tehran')::date FROM cases;
INSERT INTO stats_dirty (day) SELECT DISTINCT (accepted_at AT TIME ZONE 'Asia/Tehran')::date FROM messages
    WHERE decided_at IS NOT NULL;

-- Cases past their deadline without a result are counted live (they are
-- late only once "now" passes the deadline); this keeps that count small.
CREATE INDEX cases_stats_late ON cases (stats_due_at) INCLUDE (opened_at, department) WHERE stats_result_at IS NULL;
