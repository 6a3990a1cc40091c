#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The account's rate limit is shared by every worker of a database (SQLite here;
# postgres_rate_limit_shared.sh runs it on PostgreSQL, as on several machines): the endpoint
# enforces 120 requests a minute like a provider (429 with retry-after past it, x-ratelimit-*
# headers on every answer), and four workers, each told --rpm 120, pace together through the
# database's rate bucket. Were each worker to pace alone, the four would send four times the
# limit and, once the endpoint's minute of headroom was spent (about 12 s), be refused.
#   - at most 1% of the requests are refused by the endpoint's limit;
#   - every root succeeds, billing exact; the bucket is in rate_limits.
# The achieved rate against the limit is a figure for scripts/bench/rate_limit, not asserted.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init rate_limit_shared "$E2E_BACKEND"

start_mock --rpm 120
hy --json submit --language en --board CBSE --grade 6 --subject MATH \
  --chapters 4 --topics-per-chapter 4 --questions-per-topic 1
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")  # 1 + 4 + 32 = 37 steps
hy --json submit --language en --board CBSE --grade 6 --subject SCIENCE \
  --chapters 4 --topics-per-chapter 4 --questions-per-topic 1
ROOT2=$(jq -er .rootJobId <<<"$RUN_OUT")

START=$SECONDS
WORKERS=()
for i in 1 2 3 4; do
  spawn pid "worker$i" "$HYDRATE_BIN" work --until-idle --concurrency 4 --rpm 120
  WORKERS+=("$pid")
done
for pid in "${WORKERS[@]}"; do
  reap "$pid" 300
  assert_eq 0 "$REAP_RC" "exit status of worker $pid"
done
ELAPSED=$((SECONDS - START))

STATS=$(mock_stats)
TOTAL=$(jq .requests.total <<<"$STATS")
REFUSED=$(jq .limiter.refused.total <<<"$STATS")
note "$TOTAL requests in $ELAPSED s, $REFUSED refused by the endpoint's limit"
assert_ge 74 "$TOTAL" "requests sent"
# Sent as fast as the workers could, 74 requests would take about 2 s; at 120 a minute, with a
# tenth of a minute at once, at least 30 s.
assert_ge 25 "$ELAPSED" "seconds the run took at 120 requests a minute"
assert_le "$((TOTAL / 100))" "$REFUSED" "requests refused by the limit (at most 1%)"
assert_tree_succeeded "$ROOT"
assert_tree_succeeded "$ROOT2"
assert_eq 1 "$(sql_count "SELECT count(*) FROM rate_limits")" "rate buckets in the database"
assert_billing_exact
