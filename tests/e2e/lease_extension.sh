#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Leases are extended while calls are in flight: with 1-second leases and an endpoint that takes
# 2.5 s to answer, the held step's lease keeps moving forward, a reconcile during the call
# rescues nothing, and every step succeeds with its first attempt (no takeover, no second call).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init lease_extension

start_mock --latency-ms 2500
hy --json submit --language en --board CBSE --grade 1 --subject MATH \
  --chapters 1 --topics-per-chapter 1 --questions-per-topic 1 --no-notes
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
spawn WORKER worker "$HYDRATE_BIN" work --until-idle --concurrency 2 --lease-seconds 1

subject_running() { [[ $(sql "SELECT status FROM jobs WHERE id = '$ROOT'") == running ]]; }
wait_until 30 "the subject step to be claimed" subject_running
FIRST=$(sql_count "SELECT lease_expires_at FROM jobs WHERE id = '$ROOT'")
moved() { (($(sql_count "SELECT coalesce(lease_expires_at, 0) FROM jobs WHERE id = '$ROOT'") > FIRST)); }
wait_until 30 "the lease of the step in flight to be extended" moved
# The original lease has run out by now; the extended one has not.
past_first() { (($(date +%s%3N) > FIRST + 100)); }
wait_until 30 "the first lease expiry to pass" past_first
if subject_running; then
  hy --json reconcile
  assert_eq 0 "$(jq -r .rescued <<<"$RUN_OUT")" "leases rescued while the call was in flight"
fi

reap "$WORKER" 120
assert_eq 0 "$REAP_RC" "exit status of the worker"
assert_tree_succeeded "$ROOT"
assert_eq "" "$(sql "SELECT id, attempts FROM jobs WHERE attempts <> 1")" "steps that needed more than one attempt"
assert_eq "$(sql_count "SELECT count(*) FROM jobs")" "$(sql_count "SELECT count(*) FROM llm_calls")" \
  "model calls (one per step)"
