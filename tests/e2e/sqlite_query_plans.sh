#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SQLite with a long history: every statement hydrate runs for claims, step results, lease
# rescue, reconcile's repairs, status, export, cancel, requeue, the metrics gauges and the report
# starts from an index, and none reads a table of history (jobs, chapters, topics, questions,
# llm_calls, attempts, roots, batches) from end to end. The SQLite twin of postgres_query_plans:
# the driver writes each statement's EXPLAIN QUERY PLAN the first time it prepares it
# (HYDRATE_SQLITE_EXPLAIN), while the real binary works a small tree in a database that also
# holds 2,000 finished trees. The plans are kept in the test's log for reading.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init sqlite_query_plans
hy migrate

note "loading 2,000 finished trees (42,000 jobs, 8,000 chapters, 16,000 topics, 64,000 questions, 6,000 batches)"
sql "WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < 2000)
     INSERT INTO jobs (id, kind, root_id, status, input, attempts, max_attempts, run_after,
                       created_at, updated_at, finished_at)
     SELECT 'R' || g, 'subject', 'R' || g, 'succeeded', '{}', 1, 5, g, g, g, g FROM n;
     WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < 2000)
     INSERT INTO roots (job_id, status, language, board, grade, subject, options, dedupe_key,
                        trace_id, estimates, leaves_per_topic, created_at, started_at, finished_at)
     SELECT 'R' || g, 'succeeded', 'en', 'CBSE', '1', 'S' || g, '{}', 'k' || g, 't' || g, '{}', 2,
            g, g, g + 1 FROM n;
     WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < 8000)
     INSERT INTO jobs (id, kind, parent_id, root_id, position, status, input, attempts,
                       max_attempts, run_after, created_at, updated_at, finished_at)
     SELECT 'C' || g, 'chapter', 'R' || ((g - 1) / 4 + 1), 'R' || ((g - 1) / 4 + 1),
            (g - 1) % 4 + 1, 'succeeded', '{}', 1, 5, g, g, g, g FROM n;
     INSERT INTO chapters (job_id, root_id, position, title, summary)
     SELECT parent_id, root_id, position, 'chapter', 'summary' FROM jobs WHERE kind = 'chapter';
     WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < 16000)
     INSERT INTO topics (job_id, root_id, position, title, objectives, leaves_succeeded)
     SELECT 'C' || ((g - 1) / 2 + 1), 'R' || ((g - 1) / 8 + 1), (g - 1) % 2 + 1, 'topic', '[]', 2
     FROM n;
     INSERT INTO jobs (id, kind, parent_id, root_id, position, status, input, attempts,
                       max_attempts, run_after, created_at, updated_at, finished_at)
     SELECT t.job_id || '-' || t.position || '-' || k.kind, k.kind, t.job_id, t.root_id,
            t.position, 'succeeded', '{}', 1, 5, 1, 1, 1, 1
     FROM topics t, (SELECT 'note' AS kind UNION ALL SELECT 'questions') k;
     INSERT INTO questions (job_id, root_id, position, type, prompt, options, answer,
                            explanation, difficulty)
     SELECT j.id, j.root_id, p.position, 'mcq', 'prompt', '[]', 'a', 'e', 'easy'
     FROM jobs j, (SELECT 1 AS position UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) p
     WHERE j.kind = 'questions';
     INSERT INTO llm_calls (job_id, root_id, attempt, model, http_status, prompt_tokens,
                            completion_tokens, cached_tokens, cost_usd, latency_ms, used, created_at)
     SELECT id, root_id, 1, 'gpt-4o-mini', 200, 500, 500, 0, 0.0001, 100, 1, 1 FROM jobs;
     UPDATE tree_counts SET topics_completed = 8, topic_rows = 8, chapter_rows = 4,
                            question_rows = 32;
     WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < 6000)
     INSERT INTO batches (id, root_id, model, lease_token, state, provider_status, lines,
                          completed, created_at, updated_at, finished_at)
     SELECT 'B' || g, 'R' || ((g - 1) / 3 + 1), 'gpt-4o-mini', 't' || g, 'applied', 'completed',
            10, 10, g, g, g FROM n;"
assert_eq 42000 "$(sql_count "SELECT count(*) FROM jobs")" "jobs loaded"
assert_eq 6000 "$(sql_count "SELECT count(*) FROM batches")" "batch records loaded"

# From here on every statement's plan is written, once per process that prepares it.
PLANS=$E2E_DIR/plans.txt
export HYDRATE_SQLITE_EXPLAIN=$PLANS
start_mock
submit_small
hy work --max-steps 4
# One pending leaf goes missing: the tree's counters no longer add up, and reconcile reads its
# chapters and topics, one query each on the tree's id, to repair it.
lose_a_note_and_repair "$ROOT"
work_until_idle
hy reconcile
hy status "$ROOT"
hy status
# A batch-mode root's status: its open batches and its calls by model (the savings).
hy --json submit --language en --board CBSE --grade 1 --subject CHEMISTRY "${SMALL_TREE[@]}" --mode batch
hy status "$(jq -er .rootJobId <<<"$RUN_OUT")"
hy export "$ROOT"
FIRST=$ROOT
hy --json submit --language en --board CBSE --grade 1 --subject PHYSICS "${SMALL_TREE[@]}"
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
hy work --max-steps 3
hy cancel "$ROOT"
hy requeue "$ROOT"
hy cancel "$ROOT"
hy export "$FIRST"
hy metrics
hy report

[[ -s $PLANS ]] || fail "no plan was written to $PLANS"
STATEMENTS=$(grep -c '^-- ' "$PLANS")
assert_ge 40 "$STATEMENTS" "statements whose plans were written"
# A full read of a history table shows as "SCAN <table or alias>" without an index. Every alias
# hydrate's statements give these tables is listed; a scan of a subquery's own rows (MATERIALIZE
# or CO-ROUTINE NAME before it) and "SCAN 2 CONSTANT ROWS" (a VALUES list) read no table. And
# a statement about succeeded jobs must not start from them (SEARCH … jobs_status_kind (status=?)
# there reads every finished step of the database): it starts from open roots or one tree.
HISTORY='jobs|chapters|topics|questions|notes|llm_calls|attempts|roots|reconcile_runs|batches|j|p|k|l|t|c|r|s|b'
SCANS=$(awk -v pat="^SCAN ($HISTORY)( |$)" '
  /^-- / {stmt = $0; split("", own); next}
  /^(MATERIALIZE|CO-ROUTINE) / {own[$2] = 1; next}
  $0 ~ pat && $0 !~ / USING (COVERING )?INDEX / && !($2 in own) {print stmt; print "    " $0}
  stmt ~ /status = .succeeded./ && /jobs_status_kind \(status=\?\)/ {print stmt; print "    " $0}' "$PLANS")
assert_empty "$SCANS" "statements that read a history table from end to end"
note "the plans of reconcile's repairs:"
grep -A6 -E '^-- SELECT .* FROM (roots r WHERE r.status IN .{20,40}coalesce|chapters c CROSS JOIN jobs|topics t CROSS JOIN jobs)' "$PLANS" |
  sed 's/^/    /' | cut -c1-160 | head -24
note "$STATEMENTS statements' plans written, none reads a history table from end to end"
GAUGE_PLAN=$(grep -A3 -F -- '-- SELECT provider_status, state, count(*) FROM batches' "$PLANS" || true)
assert_contains "$GAUGE_PLAN" "SCAN batches USING COVERING INDEX batches_status" "the plan of hydrate_batches"
note "the plans of what status, the report and metrics read of batch mode:"
grep -A4 -E -- '^-- SELECT (provider_status, state|c.model, count|r.mode, c.model|b.provider_status)' "$PLANS" |
  sed 's/^/    /' | cut -c1-160
