-- hydrate schema, version 3: each model call carries an id the worker gave it, unique, so that
-- logging a call again (its result's commit was lost with the connection, and the worker cannot
-- tell whether it happened) keeps one row and bills it once. Calls logged before have none.
ALTER TABLE llm_calls ADD COLUMN call_id TEXT;
CREATE UNIQUE INDEX llm_calls_call_id ON llm_calls (call_id);
