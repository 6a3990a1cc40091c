-- hydrate schema, version 2 (SQLite): budgets enforced while a tree runs, estimates
-- calibrated on history.
-- A running step's reservation: the worst-case cost of the model call it has in flight. A root's
-- budget check adds the reservations of its running steps under live leases to what it spent.
ALTER TABLE jobs ADD COLUMN reserved_usd REAL NOT NULL DEFAULT 0;
-- What the tree's logged model calls cost so far, kept with each logged call.
ALTER TABLE roots ADD COLUMN spent_usd REAL NOT NULL DEFAULT 0;
UPDATE roots SET spent_usd = (SELECT coalesce(sum(cost_usd), 0) FROM llm_calls
                              WHERE llm_calls.root_id = roots.job_id);
-- Estimates calibrate on the newest finished trees.
CREATE INDEX roots_finished ON roots (finished_at) WHERE status = 'succeeded';
