#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Batch mode (SQLite here; postgres_batch_mode.sh runs it on PostgreSQL): the same tree submitted
# online and with --mode batch, worked by one `work --until-idle`. The batch tree ends succeeded
# with the online tree's shape, through one provider batch per level (subject, chapters, leaves),
# every step answered by a batch line and none by an online call; its tokens are the online
# tree's and its cost half of theirs, to the micro-dollar; every token the endpoint billed, online
# and in batches, is logged once. What operators see of it is exact too: status and the report
# price the batch tree's tokens online (the saving, to the micro-dollar), and hydrate_batches
# counts its three batches as completed.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init batch_mode "$E2E_BACKEND"

start_mock --batch-validating-ms 100 --batch-ms 1000 --batch-finalizing-ms 100
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
printf 'batch.poll_min_ms = 200\nbatch.poll_max_ms = 1000\n' >"$HYDRATE_CONFIG"
tree=(--language en --board CBSE --grade 6 --subject SCIENCE
  --chapters 4 --topics-per-chapter 3 --questions-per-topic 2)

hy --json estimate "${tree[@]}" --mode batch
assert_eq batch "$(jq -r .estimates.mode <<<"$RUN_OUT")" "mode of the batch estimate"
hy --json submit "${tree[@]}"
ONLINE=$(jq -er .rootJobId <<<"$RUN_OUT")
hy --json submit "${tree[@]}" --mode batch
BATCH=$(jq -er .rootJobId <<<"$RUN_OUT")
assert_eq false "$(jq -r .deduplicated <<<"$RUN_OUT")" "a batch root deduplicated against the online one"
note "online root $ONLINE, batch root $BATCH"

# While the batches run, `status ROOT` lists the open one (its state and the provider's).
spawn WORKER worker "$HYDRATE_BIN" work --until-idle --concurrency 4
lists_open_batch() {
  status_json "$BATCH"
  [[ $(jqs '[.batches[] | select(.state == "created" and .providerBatchId != "")] | length') -ge 1 ]]
}
wait_until 120 "status to list an open batch of the batch root" lists_open_batch
assert_eq batch "$(jqs .mode)" "mode in the batch root's status"
note "open batch: $(jqs '.batches[0] | "\(.id) \(.state) \(.providerStatus) \(.lines) lines"')"
reap "$WORKER" 180
assert_eq 0 "$REAP_RC" "exit status of work --until-idle"
assert_tree_succeeded "$ONLINE"
assert_tree_succeeded "$BATCH"
assert_no_duplicate_content

# The same shape: content rows of each kind, per root.
shape() {
  sql "SELECT (SELECT count(*) FROM chapters WHERE root_id = '$1') || ' ' ||
              (SELECT count(*) FROM topics WHERE root_id = '$1') || ' ' ||
              (SELECT count(*) FROM notes WHERE root_id = '$1') || ' ' ||
              (SELECT count(*) FROM questions WHERE root_id = '$1')"
}
assert_eq "$(shape "$ONLINE")" "$(shape "$BATCH")" "chapters, topics, notes and questions: online vs batch"
STEPS=$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$BATCH'")

# One batch per level, each applied, its lines the level's steps.
assert_eq "applied 1|applied 4|applied 24" \
  "$(sql "SELECT state || ' ' || lines FROM batches WHERE root_id = '$BATCH' ORDER BY created_at, id" | paste -sd '|')" \
  "the batch root's batches (state, lines), in order"
assert_eq 0 "$(sql_count "SELECT count(*) FROM batches WHERE root_id <> '$BATCH'")" "batches of other roots"

# Every step of the batch tree answered by one used batch line, none by an online call.
assert_eq "$STEPS" "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$BATCH' AND used = 1
                                  AND call_id LIKE 'batch-%/%'")" "used batch lines of the batch root"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$BATCH' AND call_id NOT LIKE 'batch-%/%'")" \
  "online calls of the batch root"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$ONLINE' AND call_id LIKE 'batch-%'")" \
  "batch lines of the online root"

# The same tokens, at half the price.
tokens() { sql "SELECT sum(prompt_tokens) || ' ' || sum(completion_tokens) FROM llm_calls WHERE root_id = '$1'"; }
assert_eq "$(tokens "$ONLINE")" "$(tokens "$BATCH")" "prompt and completion tokens: online vs batch"
online_cost=$(sql "SELECT sum(cost_usd) FROM llm_calls WHERE root_id = '$ONLINE'")
batch_cost=$(sql "SELECT sum(cost_usd) FROM llm_calls WHERE root_id = '$BATCH'")
awk -v o="$online_cost" -v b="$batch_cost" 'BEGIN { d = o - 2 * b; exit !(o > 0 && d < 1e-6 && d > -1e-6) }' ||
  fail "batch cost \$$batch_cost is not half of the online cost \$$online_cost"
note "online \$$online_cost, batch \$$batch_cost"
status_json "$BATCH"
assert_eq 0 "$(jqs '.batches | length')" "open batches of the finished batch root"
status_json "$ONLINE"
assert_eq online "$(jqs .mode)" "mode in the online root's status"
assert_eq null "$(jqs .batches)" "batches in the online root's status"
status_json "$BATCH"
awk -v s="$(jqs .actualCostUsd)" -v b="$batch_cost" 'BEGIN { d = s - b; exit !(d < 1e-6 && d > -1e-6) }' ||
  fail "status shows \$$(jqs .actualCostUsd) for the batch root, its calls \$$batch_cost"

# What the batch tree saved: status (JSON and text) prices its calls' tokens at the online price.
# The same tokens were the online tree's, so the online figure is also what that tree cost.
read -r price_in price_cached price_out < <(awk -F'\t' '$1 == "gpt-4o-mini" {print $2, $3, $4}' \
  "$HYDRATE_SOURCE_DIR/data/prices.tsv")
assert_eq gpt-4o-mini "$(sql "SELECT DISTINCT model FROM llm_calls WHERE root_id = '$BATCH'")" "model of the batch calls"
online_price=$(sql "SELECT sum((prompt_tokens - cached_tokens) * $price_in + cached_tokens * $price_cached
                               + completion_tokens * $price_out) / 1000000.0
                    FROM llm_calls WHERE root_id = '$BATCH'")
# within(A, B): |A - B| is at most a micro-dollar (both sides rounded to one).
within() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d <= 1.000001e-6 && d >= -1.000001e-6) }'; }
status_json "$BATCH"
note "savings in status: $(jq -c .savings <<<"$STATUS")"
within "$(jqs .savings.onlineCostUsd)" "$online_price" ||
  fail "status prices the batch tokens online at \$$(jqs .savings.onlineCostUsd), their online price is \$$online_price"
within "$(jqs .savings.onlineCostUsd)" "$online_cost" ||
  fail "status prices the batch tokens online at \$$(jqs .savings.onlineCostUsd), the online tree cost \$$online_cost"
within "$(jqs .savings.batchCostUsd)" "$batch_cost" || fail "savings.batchCostUsd $(jqs .savings.batchCostUsd), the calls \$$batch_cost"
within "$(jqs .savings.savingUsd)" "$(awk -v o="$online_price" -v b="$batch_cost" 'BEGIN { printf "%.9f", o - b }')" ||
  fail "status shows a saving of \$$(jqs .savings.savingUsd): online \$$online_price - batch \$$batch_cost"
assert_eq "$STEPS" "$(jqs .savings.calls)" "calls the saving covers"
assert_eq 0 "$(jqs '.savings.unpricedModels | length')" "unpriced models"
hy status "$BATCH"
assert_contains "$RUN_OUT" "savings    \$$(printf '%.6f' "$batch_cost") at the batch price" "the text status"

# Metrics: hydrate_batches counts the three records under the provider's final status.
hy metrics
for batch_status in claimed uploaded validating in_progress finalizing completed failed expired cancelling cancelled abandoned; do
  want=0
  [[ $batch_status == completed ]] && want=3
  assert_eq "hydrate_batches{status=\"$batch_status\"} $want" \
    "$(grep -E "^hydrate_batches\{status=\"$batch_status\"\} " <<<"$RUN_OUT")" "the gauge of $batch_status batches"
done
assert_eq 11 "$(grep -c '^hydrate_batches{' <<<"$RUN_OUT")" "series of hydrate_batches"

# The report splits the two finished roots by mode and shows the batch tree's saving.
hy --json report --since 1h
REPORT=$RUN_OUT
rq() { jq -r "$1" <<<"$REPORT"; }
assert_eq "1 1" "$(rq '"\(.modes.online.roots) \(.modes.batch.roots)"')" "online and batch roots in the report"
assert_eq "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$ONLINE'") $STEPS" \
  "$(rq '"\(.modes.online.calls) \(.modes.batch.calls)"')" "online and batch calls in the report"
assert_eq 3 "$(rq .modes.batch.batches.completed)" "completed batches in the report"
assert_eq 0 "$(rq '[.modes.batch.batches | to_entries[] | select(.key != "completed") | .value] | add')" "other batches in the report"
within "$(rq .modes.batch.savings.savingUsd)" "$(jqs .savings.savingUsd)" ||
  fail "the report's saving \$$(rq .modes.batch.savings.savingUsd) is not status's \$$(jqs .savings.savingUsd)"
within "$(rq .modes.online.costUsd)" "$online_cost" || fail "the report's online cost \$$(rq .modes.online.costUsd), the tree's \$$online_cost"
hy report --since 1h
assert_contains "$RUN_OUT" "  batches 3: 3 completed" "the text report"
note "saved \$$(jqs .savings.savingUsd) of \$$online_price online; $(grep -E '^  (online|batch) ' <<<"$RUN_OUT" | paste -sd';')"

# Exact accounting on both sides of the endpoint.
stats=$(mock_stats)
assert_eq "$(sql_count "SELECT count(*) FROM llm_calls WHERE call_id NOT LIKE 'batch-%'")" \
  "$(jq -r .requests.total <<<"$stats")" "online calls: made vs logged"
assert_eq "$(jq -r '"\(.batches.billed.promptTokens) \(.batches.billed.completionTokens)"' <<<"$stats")" \
  "$(tokens "$BATCH")" "batch tokens: billed by the endpoint vs logged"
assert_eq "$(jq -r '"\(.billed.promptTokens) \(.billed.completionTokens)"' <<<"$stats")" \
  "$(tokens "$ONLINE")" "online tokens: billed by the endpoint vs logged"
note "batch tree of $STEPS steps in 3 batches at half the online cost"

# The batches' files were deleted at the provider once their records were closed.
assert_eq 3 "$(sql_count "SELECT count(*) FROM batches WHERE input_file_id <> '' AND output_file_id <> ''")" \
  "batches that had an input and an output file"
files=$(curl -fsS --max-time 10 "$MOCK_URL/v1/files?limit=100") || fail "GET /v1/files did not answer"
assert_eq 0 "$(jq '.data | length' <<<"$files")" "files left at the provider"
for file in $(sql "SELECT input_file_id || ' ' || output_file_id FROM batches"); do
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$MOCK_URL/v1/files/$file")
  assert_eq 404 "$code" "GET /v1/files/$file after its batch closed"
done
