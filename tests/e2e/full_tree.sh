#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# The default subject (en/CBSE/1/MATH, catalog counts, notes and questions) runs to `succeeded`:
# every level complete (about the catalog's counts, exactly what was planned), the JSON export holding exactly what status counts,
# no duplicate content, a markdown export with every chapter, and valid Prometheus metrics.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init full_tree
command -v promtool >/dev/null 2>&1 || skip "promtool is not installed (scripts/setup installs the prometheus package)"

# The built-in catalog: CBSE grade 1 MATH is planned as 13 chapters of 4 topics, 10 questions per
# topic. The model may plan a few more or fewer (chapters 13±2, topics 4±1, as the prompts allow);
# the exact counts are known once the planning steps succeeded.
CATALOG_CHAPTERS=13 CATALOG_TOPICS=52 QUESTIONS_PER_TOPIC=10

start_mock --seed 7

hy --json submit --language en --board CBSE --grade 1 --subject MATH
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
assert_eq false "$(jq -r .deduplicated <<<"$RUN_OUT")" "deduplicated on the first submit"
assert_eq pending "$(jq -r .status <<<"$RUN_OUT")" "status of a new root"
assert_eq "$CATALOG_CHAPTERS" "$(jq -r .estimates.totalChapters <<<"$RUN_OUT")" "estimated chapters (catalog)"
assert_eq "$CATALOG_TOPICS" "$(jq -r .estimates.estimatedTopics <<<"$RUN_OUT")" "estimated topics (catalog)"
assert_eq "$CATALOG_TOPICS" "$(jq -r .estimates.estimatedNotes <<<"$RUN_OUT")" "estimated notes"
assert_eq $((CATALOG_TOPICS * QUESTIONS_PER_TOPIC)) "$(jq -r .estimates.estimatedQuestions <<<"$RUN_OUT")" \
  "estimated questions"
note "submitted $ROOT"

work_until_idle --concurrency 8
note "worker done: ${RUN_ERR##*$'\n'}"

# What the planning steps decided, from the content tables.
CHAPTERS=$(sql_count "SELECT count(*) FROM chapters WHERE root_id = '$ROOT'")
TOPICS=$(sql_count "SELECT count(*) FROM topics WHERE root_id = '$ROOT'")
QUESTIONS=$((TOPICS * QUESTIONS_PER_TOPIC))
STEPS=$((1 + CHAPTERS + TOPICS * 2))
note "planned $CHAPTERS chapters, $TOPICS topics"
((CHAPTERS >= CATALOG_CHAPTERS - 2 && CHAPTERS <= CATALOG_CHAPTERS + 2)) ||
  fail "$CHAPTERS chapters planned, outside the catalog's 13±2"
OFF_RANGE=$(sql "SELECT job_id, count(*) FROM topics WHERE root_id = '$ROOT' GROUP BY job_id HAVING count(*) NOT BETWEEN 3 AND 5")
assert_empty "$OFF_RANGE" "chapters planned with a topic count outside the catalog's 4±1"
assert_eq "$CHAPTERS" "$(sql_count "SELECT count(DISTINCT job_id) FROM topics WHERE root_id = '$ROOT'")" \
  "chapters whose topics were planned"

assert_tree_succeeded "$ROOT"
assert_eq "$CHAPTERS" "$(jqs .progress.levels.chapters.expected)" "expected chapters after the run"
assert_eq "$TOPICS" "$(jqs .progress.levels.topics.expected)" "expected topics after the run"
assert_eq "$TOPICS" "$(jqs .progress.levels.notes.expected)" "expected notes after the run"
assert_eq "$QUESTIONS" "$(jqs .progress.levels.questions.expected)" "expected questions after the run"
assert_eq "$STEPS" "$(jqs .progress.steps.succeeded)" "succeeded steps"
assert_eq "$STEPS" "$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT'")" "jobs in the tree"
assert_ge 1 "$(jqs .tokens.prompt)" "prompt tokens counted in status"
[[ $(jqs .finishedAt) != null ]] || fail "a succeeded root has no finishedAt"

# The content tables agree with status, level by level.
assert_eq "$TOPICS" "$(sql_count "SELECT count(*) FROM notes WHERE root_id = '$ROOT'")" "note rows"
assert_eq "$QUESTIONS" "$(sql_count "SELECT count(*) FROM questions WHERE root_id = '$ROOT'")" "question rows"
assert_no_duplicate_content
assert_export_matches "$ROOT"
assert_within_worst_case "$ROOT"
assert_eq "$CHAPTERS" "$(jq '[.chapters[].position] | unique | length' <<<"$EXPORT")" \
  "distinct chapter positions in the export"
assert_eq 0 "$(jq '[.chapters[].topics[] | select((.note.markdown // "") == "")] | length' <<<"$EXPORT")" \
  "topics in the export without a note"

# Markdown: not empty, and its chapter headings are exactly the chapters, in order. (Notes bring
# their own "## " headings, so chapter headings are the numbered ones.)
hy export "$ROOT" --format markdown --output "$E2E_DIR/export.md"
[[ -s $E2E_DIR/export.md ]] || fail "the markdown export is empty"
grep -q '[^[:space:]]' "$E2E_DIR/export.md" || fail "the markdown export holds only white space"
jq -r '.chapters[] | "## \(.position). \(.title)"' <<<"$EXPORT" >"$E2E_DIR/expected-headings"
grep -E '^## [0-9]+\. ' "$E2E_DIR/export.md" >"$E2E_DIR/headings" || true
assert_eq "$CHAPTERS" "$(grep -c . "$E2E_DIR/expected-headings")" "chapter titles in the JSON export"
diff -u "$E2E_DIR/expected-headings" "$E2E_DIR/headings" >"$E2E_DIR/headings.diff" ||
  fail "chapter headings of the markdown export differ from the chapters: $(head -n 20 "$E2E_DIR/headings.diff")"
grep -Fq "# MATH — CBSE grade 1 (en)" "$E2E_DIR/export.md" || fail "the markdown export has no title line"

# Metrics: the counters of this run, in a valid exposition.
hy metrics
METRICS=$RUN_OUT
printf '%s\n' "$METRICS" >"$E2E_DIR/metrics.prom"
assert_contains "$METRICS" "hydrate_jobs_created_total" "metrics"
assert_contains "$METRICS" "hydrate_jobs_completed_total" "metrics"
metric_sum() { awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $2 } END { print sum + 0 }' "$E2E_DIR/metrics.prom"; }
assert_eq "$STEPS" "$(metric_sum hydrate_jobs_created_total)" "sum of hydrate_jobs_created_total"
assert_eq "$STEPS" "$(metric_sum hydrate_jobs_completed_total)" "sum of hydrate_jobs_completed_total"
assert_eq "$CHAPTERS" "$(metric_sum 'hydrate_jobs_created_total{target="chapter"}')" \
  "hydrate_jobs_created_total of chapters"
run promtool check metrics <"$E2E_DIR/metrics.prom"
((RUN_RC == 0)) || fail "promtool check metrics rejected the exposition: $RUN_OUT $RUN_ERR"

# Cost per level adds up to the total; every call keeps the price it was charged at, and its
# cost is that price applied to its usage.
status_json "$ROOT"
assert_eq ok "$(jqs '([.costs.levels[].actualUsd] | add) - .costs.actualUsd
                     | if . < 0.00001 and . > -0.00001 then "ok" else "levels minus total: \(.)" end')" \
  "actual cost per level vs the total"
assert_eq ok "$(jqs 'if ([.costs.levels[].estimatedUsd] | add) > 0 then "ok" else "no estimate per level" end')" \
  "estimated cost per level"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE input_price <= 0 OR output_price <= 0
  OR abs(cost_usd - ((prompt_tokens - cached_tokens) * input_price + cached_tokens * cached_input_price
                     + completion_tokens * output_price) / 1e6) > 1e-12")" \
  "calls whose cost is not their usage at the price they keep"
