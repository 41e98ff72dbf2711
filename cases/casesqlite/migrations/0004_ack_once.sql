-- An escalation, reminder or assignment is acknowledged once. The engine
-- checks before it writes, but two officials clicking at once both passed
-- that check; the database now refuses the second (a conflict, 409).
-- Duplicates written before this migration keep their first.
DELETE FROM case_events WHERE kind = 'acknowledged' AND EXISTS (
    SELECT 1 FROM case_events f WHERE f.kind = 'acknowledged' AND f.case_id = case_events.case_id
        AND json_extract(f.data, '$.event_id') = json_extract(case_events.data, '$.event_id') AND f.id < case_events.id);
CREATE UNIQUE INDEX case_events_ack_once ON case_events (case_id, json_extract(data, '$.event_id')) WHERE kind = 'acknowledged';
