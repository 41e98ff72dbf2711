-- A claim leases an outbox row in a column no index covers, so that the
-- claim is a HOT update (no index writes), and pages keep room for it.
-- Before, the claim moved next_at, which outbox_due indexes: every row
-- was rewritten with its indexes twice, at the claim and at the settle.
-- next_at keeps its meaning: when the row is due.
ALTER TABLE outbox ADD COLUMN leased_until timestamptz;
ALTER TABLE outbox SET (fillfactor = 80);
