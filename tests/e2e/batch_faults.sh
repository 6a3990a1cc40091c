#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Batch mode against a provider whose batches fail and expire (SQLite here;
# postgres_batch_faults.sh runs it on PostgreSQL): with a third of the batches failed at
# validation, a third expired part-way, one line in ten answered 500 in the error file and one
# answer in ten invalid or cut off, four batch-mode trees still end succeeded. A batch the provider
# failed on its own (server_error, no line of the input at fault) is abandoned and its steps are
# batched again after a backoff, spending transient retries, not attempts; an expired one has its answered
# lines used and the rest batched again, their attempt given back; error lines and invalid
# answers are retried in the next batch. Each step's answer is used once and every billed batch
# token is logged.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init batch_faults "$E2E_BACKEND"

start_mock --seed 5 --batch-validating-ms 50 --batch-ms 300 --batch-finalizing-ms 50 \
  --batch-rate-failed 0.33 --batch-rate-expired 0.33 --batch-rate-error-line 0.1 \
  --rate-invalid 0.07 --rate-truncated 0.03
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
# The input files are kept at the endpoint (batch.delete_files = 0): the re-ask check below reads
# them after the run.
printf 'batch.poll_min_ms = 100\nbatch.poll_max_ms = 300\nwork.max_attempts = 12\nbatch.delete_files = 0\n' \
  >"$HYDRATE_CONFIG"
# The faults are drawn per batch from its content, and the job ids in it differ with every run:
# four trees make some 40 batches, so that each fault shows (none failing: 0.67^40, about 1e-7).
ROOTS=()
for subject in CHEMISTRY BIOLOGY GEOGRAPHY ECONOMICS; do
  hy --json submit --language en --board CBSE --grade 10 --subject "$subject" --mode batch \
    --chapters 5 --topics-per-chapter 3 --questions-per-topic 1
  ROOTS+=("$(jq -er .rootJobId <<<"$RUN_OUT")")
done
WORK_TIMEOUT=300 work_until_idle --concurrency 2
for ROOT in "${ROOTS[@]}"; do assert_tree_succeeded "$ROOT"; done
assert_no_duplicate_content

stats=$(mock_stats)
failed=$(jq -r .batches.byStatus.failed <<<"$stats")
expired=$(jq -r .batches.byStatus.expired <<<"$stats")
note "endpoint: $(jq -c .batches <<<"$stats")"
assert_ge 1 "$failed" "batches the endpoint failed"
assert_ge 1 "$expired" "batches the endpoint expired"
assert_ge 1 "$(jq -r .batches.lines.serverErrors <<<"$stats")" "error lines the endpoint wrote"
assert_eq "$failed" "$(sql_count "SELECT count(*) FROM batches WHERE state = 'abandoned' AND provider_status = 'failed'")" \
  "failed batches: at the endpoint vs abandoned records"
assert_eq "$expired" "$(sql_count "SELECT count(*) FROM batches WHERE state = 'applied' AND provider_status = 'expired'")" \
  "expired batches: at the endpoint vs applied records"
assert_empty "$(sql "SELECT id, state FROM batches WHERE state NOT IN ('applied', 'abandoned')")" "batch records left open"
assert_empty "$(sql "SELECT j.id, count(c.id) FROM jobs j LEFT JOIN llm_calls c ON c.job_id = j.id AND c.used = 1
                     GROUP BY j.id HAVING count(c.id) <> 1")" \
  "steps whose answer was used other than once (job, uses)"
assert_ge 1 "$(sql_count "SELECT count(*) FROM llm_calls WHERE used = 0 AND error LIKE 'invalid answer:%'")" \
  "invalid batch answers logged as not used"
assert_batch_billed_as_logged
# The provider's failures spent no attempt: each step's attempts are its invalid or cut-off
# answers plus the one that was used.
assert_empty "$(sql "SELECT j.id, j.attempts, count(c.id) FROM jobs j
                     LEFT JOIN llm_calls c ON c.job_id = j.id AND c.http_status = 200
                     GROUP BY j.id, j.attempts HAVING j.attempts <> count(c.id)")" \
  "steps whose attempts are not their answered lines (job, attempts, answers)"
# A step whose answer was rejected is asked again with the reason, as online: the line of its
# next attempt ends with the rejection, and no first attempt does.
inputs=$E2E_DIR/inputs.jsonl
for file in $(sql "SELECT input_file_id FROM batches WHERE input_file_id <> ''"); do
  curl -fsS --max-time 30 "$MOCK_URL/v1/files/$file/content" >>"$inputs" ||
    fail "could not download input file $file"
done
jq -r '"\(.custom_id) \(.body.messages[-1].content | startswith("Your answer was rejected: "))"' \
  "$inputs" | sort -u >"$E2E_DIR/asked_again"
rejected=$(sql "SELECT DISTINCT job_id || '-a' || (attempt + 1) FROM llm_calls
                WHERE used = 0 AND (error LIKE 'invalid answer:%' OR error LIKE 'output cut short%')")
assert_ge 1 "$(grep -c . <<<"$rejected")" "rejected batch answers"
for line in $rejected; do
  grep -qx "$line true" "$E2E_DIR/asked_again" ||
    fail "the next line of a rejected step ($line) does not carry the rejection: $(grep "^$line " "$E2E_DIR/asked_again")"
done
assert_empty "$(grep -- '-a1 true$' "$E2E_DIR/asked_again")" "first attempts sent with a rejection"
note "$(grep -c . <<<"$rejected") rejected answers, each asked again with its reason"
