-- Statistics and the archive (cases/stats.go), SQLite dialect.
--
-- stats_result_at and stats_max_level are kept by triggers, so every
-- lifecycle path is counted the same whichever code writes it: the first
-- result is the first "answered" or "closed" event, or the first change of
-- status to answered/verified/closed; the highest level is the largest
-- escalation_level the case had and the largest "level" of its
-- "escalated" events; the deadline is the first one the case had before
-- its result (due_at later holds other timers: feedback, follow-up). Names
-- carry stats_ so they cannot clash with the lifecycle's own columns.
ALTER TABLE cases ADD COLUMN stats_result_at INTEGER;
ALTER TABLE cases ADD COLUMN stats_due_at INTEGER;
ALTER TABLE cases ADD COLUMN stats_max_level INTEGER NOT NULL DEFAULT 0;

-- Fires only on status, level or deadline changes; its own UPDATE touches
-- none of them, so it does not fire itself.
CREATE TRIGGER cases_stats AFTER UPDATE OF status, escalation_level, due_at ON cases
WHEN NEW.escalation_level > NEW.stats_max_level
    OR (NEW.stats_result_at IS NULL AND NEW.status IN ('answered', 'verified', 'closed') AND NEW.status IS NOT OLD.status)
    OR (NEW.stats_due_at IS NULL AND NEW.due_at IS NOT NULL AND NEW.stats_result_at IS NULL
        AND NEW.status NOT IN ('answered', 'verified', 'closed'))
BEGIN
    UPDATE cases SET
        stats_max_level = max(stats_max_level, NEW.escalation_level),
        stats_due_at = CASE
            WHEN stats_due_at IS NULL AND NEW.due_at IS NOT NULL AND stats_result_at IS NULL
                AND NEW.status NOT IN ('answered', 'verified', 'closed')
            THEN NEW.due_at ELSE stats_due_at END,
        stats_result_at = CASE
            WHEN stats_result_at IS NULL AND NEW.status IN ('answered', 'verified', 'closed') AND NEW.status IS NOT OLD.status
            THEN NEW.updated_at ELSE stats_result_at END
    WHERE id = NEW.id;
END;

CREATE TRIGGER case_events_result AFTER INSERT ON case_events
WHEN NEW.kind IN ('answered', 'closed')
BEGIN
    UPDATE cases SET stats_result_at = NEW.at
    WHERE id = NEW.case_id AND (stats_result_at IS NULL OR stats_result_at > NEW.at);
END;

-- A level that is not a number casts to 0 and changes nothing: junk never
-- fails the writer.
CREATE TRIGGER case_events_level AFTER INSERT ON case_events
WHEN NEW.kind = 'escalated' AND json_valid(NEW.data)
BEGIN
    UPDATE cases SET stats_max_level = CAST(json_extract(NEW.data, '$.level') AS INTEGER)
    WHERE id = NEW.case_id AND stats_max_level < CAST(json_extract(NEW.data, '$.level') AS INTEGER);
END;

-- Cases that existed before this migration.
UPDATE cases SET stats_max_level = escalation_level WHERE escalation_level > 0;
UPDATE cases SET stats_result_at = (SELECT min(at) FROM case_events e
    WHERE e.case_id = cases.id AND e.kind IN ('answered', 'closed'))
WHERE EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = cases.id AND e.kind IN ('answered', 'closed'));
UPDATE cases SET stats_result_at = closed_at WHERE stats_result_at IS NULL AND closed_at IS NOT NULL;
UPDATE cases SET stats_due_at = due_at WHERE stats_result_at IS NULL AND due_at IS NOT NULL;

-- Stats read decided messages by accepted time, on the index alone.
CREATE INDEX messages_stats ON messages (accepted_at, portal, outcome) WHERE decided_at IS NOT NULL;
-- The archive sweeper finds closed cases by closing time.
CREATE INDEX cases_closed ON cases (closed_at) WHERE status = 'closed';

-- The archive: a closed case's classification, kept after its personal
-- data is purged (archive_retention). No foreign key: the classification
-- outlives the case row if that is ever deleted.
CREATE TABLE case_archive (
    case_id       INTEGER PRIMARY KEY,
    tracking_code TEXT NOT NULL,
    service_code  TEXT NOT NULL,
    portal        TEXT NOT NULL,
    portal_kind   TEXT NOT NULL,
    department    TEXT NOT NULL,
    district      TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    rating        INTEGER NOT NULL,
    max_level     INTEGER NOT NULL,
    opened_at     INTEGER NOT NULL,
    due_at        INTEGER,
    result_at     INTEGER,
    closed_at     INTEGER NOT NULL,
    archived_at   INTEGER NOT NULL,
    purged_at     INTEGER
) STRICT;
CREATE INDEX case_archive_unpurged ON case_archive (closed_at, case_id) WHERE purged_at IS NULL;
