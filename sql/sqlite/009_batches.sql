-- hydrate schema, version 9: batch mode (issue 12). A root submitted with --mode batch has its
-- steps answered through the provider's Batch API, at half the price, instead of one request
-- each. Its jobs carry the mode, so the online claim never takes them, and the batch cycle
-- (core/engine/batch_cycle.cpp) claims them a root's due steps at a time into a batch record:
--   claimed   the steps are held under the batch's lease token (status running, lease holder
--             batch:ID, the lease the completion window and a margin): nothing else claims them;
--   uploaded  their JSONL input file is at the provider (input_file_id);
--   created   the provider's batch exists (provider_batch_id; metadata hydrate_batch = ID, by
--             which a batch created before a crash recorded it is found again);
--   applied   its output and error lines were applied, each through the same fenced step result
--             as an online answer; the steps it left unanswered went back to pending;
--   abandoned it ended without results (the provider refused it for good, or a cancel).
-- A worker drives a batch while it holds it (holder, held_until): two workers never poll or
-- apply the same batch at once, and a dead worker's batches are taken over when the hold ends.
ALTER TABLE jobs ADD COLUMN mode TEXT NOT NULL DEFAULT 'online';
ALTER TABLE roots ADD COLUMN mode TEXT NOT NULL DEFAULT 'online';
DROP INDEX jobs_pending;
CREATE INDEX jobs_pending ON jobs (priority DESC, run_after)
WHERE status = 'pending' AND mode = 'online';
CREATE INDEX jobs_batch_due ON jobs (run_after) WHERE status = 'pending' AND mode = 'batch';
CREATE TABLE batches (
  id                TEXT PRIMARY KEY,
  root_id           TEXT NOT NULL,
  model             TEXT NOT NULL DEFAULT '',
  lease_token       TEXT NOT NULL,
  state             TEXT NOT NULL,
  provider_status   TEXT NOT NULL DEFAULT '',
  input_file_id     TEXT NOT NULL DEFAULT '',
  provider_batch_id TEXT NOT NULL DEFAULT '',
  output_file_id    TEXT NOT NULL DEFAULT '',
  error_file_id     TEXT NOT NULL DEFAULT '',
  lines             INTEGER NOT NULL,
  completed         INTEGER NOT NULL DEFAULT 0,
  failed            INTEGER NOT NULL DEFAULT 0,
  error             TEXT NOT NULL DEFAULT '',
  holder            TEXT NOT NULL DEFAULT '',
  held_until        INTEGER NOT NULL DEFAULT 0,
  next_poll_at      INTEGER NOT NULL DEFAULT 0,
  cancel_requested  INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  finished_at       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX batches_open ON batches (next_poll_at) WHERE state NOT IN ('applied', 'abandoned');
CREATE INDEX batches_root ON batches (root_id, created_at);
