-- hydrate schema, version 5: the model-call counters carry a model label. The unlabelled rows
-- of those families are replaced by sums per model (and, for calls, per outcome and HTTP status)
-- re-derived from llm_calls, which every counted call is logged in by the same transaction, so
-- an upgraded database loses nothing and its totals stay the same. A model name is operator
-- input: its label value is escaped as the exposition format requires (\ \" \n).
DELETE FROM metrics WHERE name IN ('hydrate_llm_calls_total', 'hydrate_llm_prompt_tokens_total',
  'hydrate_llm_completion_tokens_total', 'hydrate_llm_cached_tokens_total',
  'hydrate_llm_reasoning_tokens_total', 'hydrate_llm_cost_usd_total');
INSERT INTO metrics (name, labels, value)
SELECT 'hydrate_llm_calls_total',
       'model="' || label || '",outcome="' || outcome || '",status="' || http_status || '"',
       count(*)
FROM (SELECT replace(replace(replace(model, '\', '\\'), '"', '\"'), char(10), '\n') AS label,
             CASE WHEN used <> 0 THEN 'used' WHEN http_status = 200 THEN 'rejected'
                  ELSE 'error' END AS outcome,
             http_status
      FROM llm_calls) AS c
GROUP BY label, outcome, http_status;
INSERT INTO metrics (name, labels, value)
SELECT f.name, 'model="' || s.label || '"',
       CASE f.name WHEN 'hydrate_llm_prompt_tokens_total' THEN s.prompt
                   WHEN 'hydrate_llm_completion_tokens_total' THEN s.completion
                   WHEN 'hydrate_llm_cached_tokens_total' THEN s.cached
                   WHEN 'hydrate_llm_reasoning_tokens_total' THEN s.reasoning
                   ELSE s.cost END
FROM (SELECT replace(replace(replace(model, '\', '\\'), '"', '\"'), char(10), '\n') AS label,
             sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion,
             sum(cached_tokens) AS cached, sum(reasoning_tokens) AS reasoning,
             sum(cost_usd) AS cost
      FROM llm_calls GROUP BY 1) AS s
CROSS JOIN (SELECT 'hydrate_llm_prompt_tokens_total' AS name
            UNION ALL SELECT 'hydrate_llm_completion_tokens_total'
            UNION ALL SELECT 'hydrate_llm_cached_tokens_total'
            UNION ALL SELECT 'hydrate_llm_reasoning_tokens_total'
            UNION ALL SELECT 'hydrate_llm_cost_usd_total') AS f;
-- The hydrate_jobs and hydrate_roots gauges count rows by status (and kind) at every scrape: an
-- index on just those columns is small (its keys repeat) and lets the count read the index
-- alone (PostgreSQL: an index-only scan once autovacuum has marked settled rows all-visible).
CREATE INDEX jobs_status_kind ON jobs (status, kind);
CREATE INDEX roots_status ON roots (status);
