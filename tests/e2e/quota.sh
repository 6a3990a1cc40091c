#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# An account running dry: after 6 answers the endpoint says 429 insufficient_quota. The worker
# stops claiming at the first such answer and exits 1 with a message naming the quota; only the
# calls already in flight are sent after it; nothing fails for good, and the steps the quota
# stopped keep no attempt for it. With quota again, the next
# worker finishes the tree.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init quota

start_mock --quota-after 6 --latency-ms 50
submit_small
run --timeout 120 "$HYDRATE_BIN" work --until-idle --concurrency 2
assert_eq 1 "$RUN_RC" "exit status of a worker whose account ran out of quota"
assert_contains "$RUN_ERR" "out of quota (insufficient_quota)" "the worker's message"
assert_eq 1 "$(grep -c '^hydrate: error:' <<<"$RUN_ERR")" "error lines"

STATS=$(mock_stats)
TOTAL=$(jq -r .requests.total <<<"$STATS")
# 6 answered, then the one that hit the quota and at most the other one in flight.
assert_ge "$TOTAL" 8 "requests the endpoint saw at most (8 >= this)"
assert_ge 7 "$TOTAL" "requests the endpoint saw at least"
assert_eq "$TOTAL" "$(sql_count "SELECT count(*) FROM llm_calls")" "calls logged (every request)"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE status IN ('failed', 'running')")" \
  "steps failed or left running"
assert_eq running "$(sql "SELECT status FROM roots WHERE job_id = '$ROOT'")" "status of the root"
# A quota stop is not the step's failure: the attempt its claim counted is given back.
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE status = 'pending' AND attempts > 0")" \
  "steps put back by the quota stop with an attempt counted"
assert_ge 1 "$(sql_count "SELECT count(*) FROM jobs j WHERE status = 'pending' AND EXISTS
                          (SELECT 1 FROM llm_calls c WHERE c.job_id = j.id AND c.http_status = 429)")" \
  "steps put back by the quota stop"

stop_mock
start_mock
work_until_idle --concurrency 4
assert_tree_succeeded "$ROOT"
assert_no_duplicate_content
