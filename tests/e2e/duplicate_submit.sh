#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Idempotent submit: while a root for a slot and its options is live (pending or running), a
# second submit returns it marked deduplicated — also when several arrive at once; another slot
# or other options get their own root; once the root has finished, a submit starts a new one.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init duplicate_submit

start_mock

submit_slot() {  # submit_slot FLAGS…: JSON submit, sets ID and DEDUP
  hy --json submit "$@"
  ID=$(jq -er .rootJobId <<<"$RUN_OUT") || fail "submit printed no rootJobId: $RUN_OUT"
  DEDUP=$(jq -r .deduplicated <<<"$RUN_OUT")
}
SLOT_A=(--language en --board CBSE --grade 1 --subject MATH "${SMALL_TREE[@]}")

# 1. A fresh root, then the same request while it is pending.
submit_slot "${SLOT_A[@]}"
ROOT_A=$ID
assert_eq false "$DEDUP" "deduplicated of the first submit"
submit_slot "${SLOT_A[@]}"
assert_eq "$ROOT_A" "$ID" "rootJobId of a second submit while the first is pending"
assert_eq true "$DEDUP" "deduplicated of a second submit while the first is pending"
assert_eq pending "$(jq -r .status <<<"$RUN_OUT")" "status reported for the live duplicate"
hy submit "${SLOT_A[@]}"  # human output: the id on stdout, what happened on stderr
assert_eq "$ROOT_A" "$RUN_OUT" "id printed by a plain duplicate submit"
assert_contains "$RUN_ERR" "returned the live root" "stderr of a plain duplicate submit"

# 2. The same request while the root is running: one step done, the rest pending.
hy work --max-steps 1 --concurrency 1
assert_eq running "$(sql "SELECT status FROM roots WHERE job_id = '$ROOT_A'")" "root status after one step"
submit_slot "${SLOT_A[@]}"
assert_eq "$ROOT_A" "$ID" "rootJobId of a submit while the first is running"
assert_eq true "$DEDUP" "deduplicated of a submit while the first is running"

# 3. Another slot, and the same slot with other options, each get a root of their own.
submit_slot --language en --board CBSE --grade 2 --subject MATH "${SMALL_TREE[@]}"
ROOT_B=$ID
assert_eq false "$DEDUP" "deduplicated of a submit for another grade"
[[ $ROOT_B != "$ROOT_A" ]] || fail "another slot got the live root $ROOT_A"
submit_slot --language en --board CBSE --grade 1 --subject MATH --chapters 2 --topics-per-chapter 2 --questions-per-topic 3
ROOT_C=$ID
assert_eq false "$DEDUP" "deduplicated of a submit with other options"
[[ $ROOT_C != "$ROOT_A" && $ROOT_C != "$ROOT_B" ]] || fail "other options got an existing root ($ROOT_C)"

# 4. Several identical submits at the same instant: one root, created once.
SLOT_D=(--language hi --board CBSE --grade 1 --subject MATH "${SMALL_TREE[@]}")
PIDS_D=()
for i in 1 2 3 4; do
  spawn pid "concurrent.$i" "$HYDRATE_BIN" --json submit "${SLOT_D[@]}"
  PIDS_D+=("$pid")
done
FRESH=0
for i in 1 2 3 4; do
  reap "${PIDS_D[$((i - 1))]}" 60
  ((REAP_RC == 0)) || fail "concurrent submit $i exited with $REAP_RC: $(cat "$E2E_DIR/concurrent.$i.err")"
  out=$(cat "$E2E_DIR/concurrent.$i.out")
  id=$(jq -er .rootJobId <<<"$out") || fail "concurrent submit $i printed no rootJobId: $out"
  if [[ $i == 1 ]]; then ROOT_D=$id; fi
  assert_eq "$ROOT_D" "$id" "rootJobId of concurrent submit $i"
  if [[ $(jq -r .deduplicated <<<"$out") == false ]]; then FRESH=$((FRESH + 1)); fi
done
assert_eq 1 "$FRESH" "concurrent submits that created the root (deduplicated false)"
assert_eq 1 "$(sql_count "SELECT count(*) FROM roots WHERE language = 'hi'")" "roots stored for the concurrent slot"

assert_eq 4 "$(sql_count "SELECT count(*) FROM roots")" "roots stored so far"
assert_eq 4 "$(sql_count "SELECT count(*) FROM jobs WHERE kind = 'subject'")" "subject jobs stored so far"

# 5. Once the root has finished, the same request starts a new one.
work_until_idle
for root in "$ROOT_A" "$ROOT_B" "$ROOT_C" "$ROOT_D"; do
  assert_tree_succeeded "$root"
done
submit_slot "${SLOT_A[@]}"
assert_eq false "$DEDUP" "deduplicated of a submit after the first root finished"
assert_eq pending "$(jq -r .status <<<"$RUN_OUT")" "status of the new root"
[[ $ID != "$ROOT_A" ]] || fail "a submit after the root finished returned the finished root $ROOT_A"
assert_eq "succeeded pending" \
  "$(sql "SELECT group_concat(status, ' ') FROM (SELECT status FROM roots WHERE dedupe_key = (SELECT dedupe_key FROM roots WHERE job_id = '$ROOT_A') ORDER BY created_at)")" \
  "roots of slot A, oldest first"
assert_eq "" "$(sql "SELECT dedupe_key FROM roots WHERE status IN ('pending', 'running') GROUP BY dedupe_key HAVING count(*) > 1")" \
  "slots with two live roots"
