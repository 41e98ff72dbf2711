-- A case is inserted already assigned, with its deadline (the process's
-- Opened hook runs before the INSERT, ledger.go), so the statistics
-- columns are kept on INSERT too, by the same rules as cases_stats keeps
-- them on UPDATE. With no OLD row, a case inserted with a result has its
-- result at insertion.
CREATE TRIGGER cases_stats_insert AFTER INSERT ON cases
WHEN NEW.escalation_level > 0
    OR NEW.status IN ('answered', 'verified', 'closed')
    OR NEW.due_at IS NOT NULL
BEGIN
    UPDATE cases SET
        stats_max_level = max(stats_max_level, NEW.escalation_level),
        stats_due_at = CASE
            WHEN NEW.due_at IS NOT NULL AND NEW.status NOT IN ('answered', 'verified', 'closed')
            THEN NEW.due_at ELSE stats_due_at END,
        stats_result_at = CASE
            WHEN NEW.status IN ('answered', 'verified', 'closed') THEN NEW.updated_at ELSE stats_result_at END
    WHERE id = NEW.id;
END;
