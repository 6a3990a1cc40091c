#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Faulty endpoint (SQLite here; postgres_faulty_endpoint.sh runs the same on PostgreSQL): the
# endpoint injects all its faults together — 10% 429 with retry-after, 5% each of 500, 503,
# timeouts, malformed JSON, truncated and schema-invalid answers. Five subjects of 2 chapters of 2
# topics (about 80 requests, so that every kind of fault occurs with the seed), with one worker:
#   - no step made more attempts than its limit; each step's logged calls are its attempts (wrong
#     answers: truncated, schema-invalid) plus its transient retries (429, 500, 503, timeouts,
#     malformed bodies, which spend no attempt); a step at its limit failed for good with
#     "gave up after N attempts: <cause>" in status;
#   - after a requeue of any tree that failed so, every root is `succeeded`, once, with nothing
#     duplicated or orphaned;
#   - exact accounting: the endpoint's /stats billed tokens equal the tokens in llm_calls, to the
#     token, and each root's actual cost in `status --json` is its tokens priced by data/prices.tsv.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init faulty_endpoint "$E2E_BACKEND"

MAX_ATTEMPTS=4
printf 'work.max_attempts = %s\n' "$MAX_ATTEMPTS" >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
# A held request is answered (504, or its connection dropped) after 150 ms, well inside this.
export HYDRATE_LLM_TIMEOUT_MS=5000
export HYDRATE_RETRY_BASE_MS=10
start_mock --seed "${FAULT_SEED:-1}" --timeout-hold-ms 150 --rate-429 0.10 --rate-500 0.05 --rate-503 0.05 \
  --rate-timeout 0.05 --rate-malformed 0.05 --rate-truncated 0.05 --rate-invalid 0.05

ROOTS=()
for subject in MATH SCIENCE ENGLISH HISTORY GEOGRAPHY; do
  hy --json submit --language en --board CBSE --grade 2 --subject "$subject" \
    --chapters 2 --topics-per-chapter 2 --questions-per-topic 1
  ROOTS+=("$(jq -er .rootJobId <<<"$RUN_OUT")")
done

work_until_idle --concurrency 8
note "worker: ${RUN_ERR##*$'\n'}"
STATS=$(mock_stats)
printf '%s\n' "$STATS" >"$E2E_DIR/stats.json"
note "endpoint: $(jq -c .requests.byFault <<<"$STATS")"
assert_ge 7 "$(jq '[.requests.byFault | to_entries[] | select(.key != "none" and .value > 0)] | length' <<<"$STATS")" \
  "kinds of fault the endpoint injected (all seven must be exercised)"

# The attempt limit holds, and each call is an attempt or a transient retry (no worker died, so
# none is unlogged).
assert_empty "$(sql "SELECT id, attempts, max_attempts FROM jobs WHERE attempts > max_attempts")" \
  "steps with more attempts than their limit (id, attempts, limit)"
assert_empty "$(sql "SELECT j.id, j.attempts, j.transient_retries, count(c.id) FROM jobs j
                     LEFT JOIN llm_calls c ON c.job_id = j.id
                     GROUP BY j.id, j.attempts, j.transient_retries
                     HAVING count(c.id) <> j.attempts + j.transient_retries")" \
  "steps whose logged calls differ from attempts + transient retries (id, attempts, retries, calls)"
assert_ge 1 "$(sql_count "SELECT count(*) FROM jobs WHERE attempts > 1")" "steps that were re-asked"
assert_ge 1 "$(sql_count "SELECT count(*) FROM jobs WHERE transient_retries > 0")" \
  "steps that met a transient fault"
FAILED=$(sql "SELECT id, root_id, attempts, last_error FROM jobs WHERE status = 'failed' ORDER BY id")
assert_empty "$(sql "SELECT id FROM jobs WHERE status NOT IN ('succeeded', 'failed')")" "steps neither succeeded nor failed"
FAILED_ROOTS=()
while IFS='|' read -r id root attempts error; do
  [[ -n $id ]] || continue
  assert_eq "$MAX_ATTEMPTS" "$attempts" "attempts of step $id, failed for good"
  [[ $error =~ ^gave\ up\ after\ $MAX_ATTEMPTS\ attempts:\ .+ ]] || fail "unclear last error of failed step $id: '$error'"
  status_json "$root"
  assert_eq failed "$(jqs .status)" "status of root $root with a failed step"
  assert_eq "failed $MAX_ATTEMPTS $error" \
    "$(jq -r --arg id "$id" '.errors[] | select(.jobId == $id) | "\(.status) \(.attempts) \(.error)"' <<<"$STATUS")" \
    "status, attempts and last error of step $id in status --json"
  [[ " ${FAILED_ROOTS[*]-} " == *" $root "* ]] || FAILED_ROOTS+=("$root")
done <<<"$FAILED"
note "$(grep -c . <<<"$FAILED" || true) step(s) failed for good after $MAX_ATTEMPTS attempts, in ${#FAILED_ROOTS[@]} root(s)"

# Requeue what failed for good; the same faulty endpoint then finishes every tree.
for root in "${FAILED_ROOTS[@]+"${FAILED_ROOTS[@]}"}"; do hy requeue "$root"; done
if ((${#FAILED_ROOTS[@]} > 0)); then work_until_idle --concurrency 8; fi

for root in "${ROOTS[@]}"; do assert_tree_succeeded "$root"; done
assert_export_matches "${ROOTS[0]}"
assert_no_duplicate_content
assert_no_orphans
assert_billing_exact
for root in "${ROOTS[@]}"; do assert_cost_priced "$root"; done
