-- A case may be inserted already assigned (a batch of decisions opens its
-- cases with the process's result folded in, casepg/batch.go), so the
-- statistics columns are kept on INSERT too, by the same rules as on
-- UPDATE. In an INSERT trigger OLD is NULL, so a case inserted with a
-- result has its result at insertion.
CREATE TRIGGER cases_stats_insert BEFORE INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION dargah_cases_stats();
