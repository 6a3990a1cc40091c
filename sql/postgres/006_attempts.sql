-- hydrate schema, version 6: the attempt log, one row per claim of a step, so `hydrate report`
-- can say how claims ended (the checklist's worker claim success rate). A claim's row is opened
-- by claim_batch, in the claim's transaction, and ended exactly once by whichever write ends
-- the claim:
--   succeeded, retried, failed  the holder's fenced write was accepted (the step's result, a
--                               release back to pending, or its failure);
--   lease_lost                  the lease expired and reconcile rescued the step, or another
--                               worker claimed it again;
--   cancelled                   an operator cancelled the step while it was held.
-- outcome stays NULL while the claim is in flight. A write the store refuses (its holder lost
-- the lease) ends nothing here, the claim having ended when the lease was lost; the worker logs
-- the answer it could not save as an unused call, "result not saved: …". A database upgraded
-- to this version starts with an empty log: the report counts only claims made since.
CREATE TABLE attempts (
  lease_token TEXT NOT NULL,
  job_id      TEXT NOT NULL,
  root_id     TEXT NOT NULL,
  kind        TEXT NOT NULL,
  holder      TEXT NOT NULL,
  claimed_at  BIGINT NOT NULL,
  ended_at    BIGINT,
  outcome     TEXT CHECK (outcome IN ('succeeded', 'retried', 'failed', 'lease_lost', 'cancelled')),
  PRIMARY KEY (lease_token, job_id)
);
CREATE INDEX attempts_open ON attempts (job_id) WHERE outcome IS NULL;
CREATE INDEX attempts_claimed ON attempts (claimed_at);
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_at);
CREATE INDEX roots_finished_at ON roots (finished_at);
CREATE INDEX llm_calls_created ON llm_calls (created_at) WHERE used = 0;
