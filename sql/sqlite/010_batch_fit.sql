-- hydrate schema, version 10: what a batch holds back while it is at the provider (issue 12).
-- Before its file is uploaded, a batch record is fitted (core/engine/batch_cycle.cpp, Store::
-- fit_batch): it keeps the longest run of its steps' lines that
--   the root's budget covers at each line's worst case: reserved_usd is that sum, held against
--             the budget while the batch is open (as jobs.reserved_usd is for an online call)
--             and kept once it is closed, as the record of what the batch was allowed;
--   the model's batch queue has room for: prompt_tokens is the lines' prompt tokens as the
--             provider counts them against its enqueued-token limit, counted for every
--             uploaded or created batch of the model.
ALTER TABLE batches ADD COLUMN reserved_usd REAL NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
