-- The dirty-day list (0003) was kept by row triggers: one PL/pgSQL call
-- and one INSERT per changed row, which a batch of decisions (casepg/
-- batch.go) multiplies by the batch. Statement triggers over transition
-- tables mark each day once per statement instead; the rules are 0003's.
DROP TRIGGER cases_stats_dirty_insert ON cases;
DROP TRIGGER cases_stats_dirty_update ON cases;
DROP TRIGGER messages_stats_dirty ON messages;

CREATE FUNCTION dargah_stats_dirty_cases_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (day)
    SELECT DISTINCT (opened_at AT TIME ZONE 'Asia/Tehran')::date FROM new_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER cases_stats_dirty_insert AFTER INSERT ON cases
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dargah_stats_dirty_cases_inserted();

-- A case whose figures changed dirties its day, and its old day when its
-- opening time moved.
CREATE FUNCTION dargah_stats_dirty_cases_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (day)
    SELECT DISTINCT v.day
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    CROSS JOIN LATERAL (VALUES ((n.opened_at AT TIME ZONE 'Asia/Tehran')::date),
                               ((o.opened_at AT TIME ZONE 'Asia/Tehran')::date)) AS v (day)
    WHERE (o.portal, o.service_code, o.district, o.department, o.escalation_level, o.stats_max_level,
           o.rating, o.stats_result_at, o.stats_due_at, o.opened_at)
          IS DISTINCT FROM
          (n.portal, n.service_code, n.district, n.department, n.escalation_level, n.stats_max_level,
           n.rating, n.stats_result_at, n.stats_due_at, n.opened_at);
    RETURN NULL;
END $$;
CREATE TRIGGER cases_stats_dirty_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dargah_stats_dirty_cases_updated();

CREATE FUNCTION dargah_stats_dirty_messages_decided() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (day)
    SELECT DISTINCT (n.accepted_at AT TIME ZONE 'Asia/Tehran')::date
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE o.decided_at IS NULL AND n.decided_at IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_stats_dirty AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dargah_stats_dirty_messages_decided();

DROP FUNCTION dargah_stats_dirty_case();
DROP FUNCTION dargah_stats_dirty_message();
