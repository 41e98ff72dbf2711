-- An escalation, reminder or assignment is acknowledged once. The engine
-- checks before it writes, but two officials clicking at once both passed
-- that check; the database now refuses the second (a conflict, 409).
-- Duplicates written before this migration keep their first.
DELETE FROM case_events e USING case_events f
WHERE e.kind = 'acknowledged' AND f.kind = 'acknowledged' AND e.case_id = f.case_id
    AND e.data->>'event_id' = f.data->>'event_id' AND f.id < e.id;
CREATE UNIQUE INDEX case_events_ack_once ON case_events (case_id, (data->>'event_id')) WHERE kind = 'acknowledged';
