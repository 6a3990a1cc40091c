#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# The admin page of hydrate serve in a real browser (tests/tools/admin_page.mjs: Debian's
# headless Chromium, playwright-core): token, estimate, submit and live bars to 100% while a
# worker runs against the local endpoint, the mode choice (an estimate and a pending root in
# batch mode, its mode in the dashboard and the history), cancel a pending job, requeue a failed
# root. The page
# and its assets are served from the binary with a strict Content-Security-Policy; the
# screenshots are kept in BUILD_DIR/test-artifacts/serve_page.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init serve_page
need_tool node nodejs
[[ -x /usr/bin/chromium ]] || skip "Debian's chromium is not installed (scripts/setup installs it)"
[[ -d $HYDRATE_SOURCE_DIR/node_modules/playwright-core ]] ||
  skip "node_modules lacks playwright-core: run scripts/setup (npm ci) first"

start_mock --latency-ms 20
# A root that fails: its budget cannot cover a call, so the worker stops it (budget_exhausted).
hy --json submit --language en --board CBSE --grade 3 --subject MATH --chapters 2 \
  --topics-per-chapter 1 --questions-per-topic 2 --max-cost 0.000001 --force
FAILED=$(jq -er .rootJobId <<<"$RUN_OUT")
work_until_idle
assert_eq failed "$(sql "SELECT status FROM roots WHERE job_id = '$FAILED'")" "the budget-stopped root"

TOKEN="page-$RANDOM$RANDOM"
export HYDRATE_ADMIN_TOKEN=$TOKEN
spawn SERVE serve "$HYDRATE_BIN" serve --listen 127.0.0.1:0
wait_listening "$SERVE" serve serve
URL=$LISTEN_URL
unset HYDRATE_ADMIN_TOKEN

note "the page and its assets: no token needed, a strict CSP, nothing else reachable"
PAGE=/admin/content-engine/hydrateAll
curl -sS -D "$E2E_DIR/page.headers" -o "$E2E_DIR/page.html" "$URL$PAGE"
assert_contains "$(cat "$E2E_DIR/page.headers")" "Content-Security-Policy: default-src 'self'" "the page's headers"
assert_contains "$(cat "$E2E_DIR/page.html")" '<label for="token">Bearer token</label>' "the page"
for asset in hydrate-admin.js hydrate-admin.css; do
  assert_eq 200 "$(curl -sS -o /dev/null -w '%{http_code}' "$URL$PAGE/$asset")" "GET $asset"
done
assert_eq 404 "$(curl -sS -o /dev/null -w '%{http_code}' --path-as-is "$URL$PAGE/../../../etc/passwd")" "traversal from the page"
assert_eq 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$URL$PAGE/missing.js")" "an asset that does not exist"
assert_eq 405 "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d x "$URL$PAGE")" "POST on the page"

note "the browser run"
SHOTS=${HYDRATE_BUILD_DIR:?run through ctest}/test-artifacts/serve_page
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
HYDRATE_BIN=$HYDRATE_BIN run --timeout 300 node "$HYDRATE_SOURCE_DIR/tests/tools/admin_page.mjs" \
  "$URL" "$TOKEN" "$SHOTS" "$FAILED"
((RUN_RC == 0)) || fail "admin_page.mjs exited with $RUN_RC: $RUN_OUT $RUN_ERR"
note "$(grep -c '^\[admin_page\]' <<<"$RUN_OUT") steps; screenshots in $SHOTS"

note "what the browser did is in the database"
assert_eq 1 "$(sql_count "SELECT count(*) FROM roots WHERE status = 'succeeded' AND subject = 'MATH' AND grade = '2'")" "the root the page submitted and watched"
assert_eq "cancelled on the admin page" "$(sql "SELECT reason FROM roots WHERE subject = 'SCIENCE'")" "the root the page cancelled"
assert_eq "online batch" "$(sql "SELECT mode FROM roots WHERE subject IN ('MATH', 'SCIENCE') AND grade = '2' ORDER BY subject" | paste -sd' ')" \
  "modes of the roots the page submitted (server default, then batch)"
assert_eq running "$(sql "SELECT status FROM roots WHERE job_id = '$FAILED'")" "the root the page requeued"
for shot in 1-estimate 2-succeeded 3-cancelled 4-requeued; do
  [[ -s $SHOTS/$shot.png ]] || fail "no screenshot $shot.png"
done
kill -TERM "$SERVE"
reap "$SERVE" 30
assert_eq 0 "$REAP_RC" "exit status of serve"
