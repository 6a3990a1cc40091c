#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# hydrate serve's admin API (SQLite here; postgres_serve_api.sh runs it on PostgreSQL), with curl
# and jq over loopback: it refuses to start without a token (unless on loopback and told), the
# deployment checklist's Phase 4 smoke test passes verbatim (host aside), every endpoint answers
# with the original field names and status codes, two serve processes on one database answer
# alike, a submit's mode is the body's or else the serve process's submit.mode, and hostile
# requests (no or a wrong token, malformed, oversized, path traversal, an unknown method, a
# client that never finishes its headers) are refused with the database unchanged and the token
# never logged.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init serve_api "${E2E_BACKEND:-sqlite}"

TOKEN="e2e-admin-$RANDOM$RANDOM-secret"
H_AUTH="Authorization: Bearer $TOKEN"

note "serve refuses to start without a token, except on loopback with --insecure-no-auth"
run "$HYDRATE_BIN" serve --listen 127.0.0.1:0
assert_eq 2 "$RUN_RC" "exit status without a token"
assert_contains "$RUN_ERR" "HYDRATE_ADMIN_TOKEN" "the error"
run "$HYDRATE_BIN" serve --listen 0.0.0.0:0 --insecure-no-auth
assert_eq 2 "$RUN_RC" "exit status of --insecure-no-auth on 0.0.0.0"
run "$HYDRATE_BIN" serve --listen nonsense
assert_eq 2 "$RUN_RC" "exit status of a bad --listen"
assert_contains "$RUN_ERR" "--listen" "the error"
: >"$E2E_DIR/empty-token"
HYDRATE_ADMIN_TOKEN_FILE=$E2E_DIR/empty-token run "$HYDRATE_BIN" serve --listen 127.0.0.1:0
assert_eq 2 "$RUN_RC" "exit status of an empty token file"

# start_serve VAR [env…]: starts serve on a free loopback port; VAR_URL is its address.
start_serve() {
  local var=$1 pid log="serve.$1"
  shift
  local assignment
  for assignment in "$@"; do export "${assignment?}"; done
  spawn pid "$log" "$HYDRATE_BIN" -v serve --listen 127.0.0.1:0
  for assignment in "$@"; do unset "${assignment%%=*}"; done
  wait_listening "$pid" "$log" serve
  printf -v "$var" '%s' "$pid"
  printf -v "${var}_URL" '%s' "$LISTEN_URL"
}
printf '%s\n' "old-token-being-rotated" "$TOKEN" >"$E2E_DIR/tokens"
start_serve SERVE HYDRATE_ADMIN_TOKEN="$TOKEN"
start_serve SECOND HYDRATE_ADMIN_TOKEN_FILE="$E2E_DIR/tokens"
URL=$SERVE_URL

# call METHOD PATH [curl args…]: sets CODE, BODY and HEADERS (of the last response).
call() {
  local method=$1 path=$2
  shift 2
  local out=$E2E_DIR/call.body hdr=$E2E_DIR/call.headers
  CODE=$(curl -sS --max-time 30 -o "$out" -D "$hdr" -w '%{http_code}' -X "$method" "$@" "$URL$path")
  BODY=$(cat "$out")
  HEADERS=$(tr -d '\r' <"$hdr")
}
header() { sed -n "s/^$1: //Ip" <<<"$HEADERS" | tail -n 1; }
db_snapshot() { sql "SELECT (SELECT count(*) FROM jobs) || '/' || (SELECT count(*) FROM roots) || '/' || (SELECT count(*) FROM llm_calls)"; }

note "probes need no token; /readyz reads the database"
call GET /healthz
assert_eq 200 "$CODE" "GET /healthz"
call GET /readyz
assert_eq 200 "$CODE" "GET /readyz"
assert_eq ready "$(jq -r .status <<<"$BODY")" "readyz status"
call POST /healthz -d ""
assert_eq 405 "$CODE" "POST /healthz"

note "the API needs the token: 401 with WWW-Authenticate otherwise"
call GET /api/admin/hydrateAll
assert_eq 401 "$CODE" "no token"
assert_contains "$(header WWW-Authenticate)" "Bearer" "WWW-Authenticate"
call GET /api/admin/hydrateAll -H "Authorization: Bearer wrong-$TOKEN"
assert_eq 401 "$CODE" "a wrong token"
call GET /api/admin/hydrateAll -H "Authorization: Basic $TOKEN"
assert_eq 401 "$CODE" "another scheme"
call GET /api/admin/hydrateAll -H "authorization: bearer $TOKEN"
assert_eq 200 "$CODE" "the scheme and header name in lower case"

note "Phase 4.1 of the checklist, verbatim: the dry run stores nothing"
BEFORE=$(db_snapshot)
CODE=$(curl -sS -o "$E2E_DIR/dry.json" -w '%{http_code}' -X POST "$URL/api/admin/hydrateAll" \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $TOKEN" \
  -d '{
    "language": "en",
    "boardCode": "CBSE",
    "grade": "1",
    "subjectCode": "MATH",
    "options": {
      "generateNotes": true,
      "generateQuestions": false,
      "dryRun": true
    }
  }')
DRY=$(cat "$E2E_DIR/dry.json")
assert_eq 200 "$CODE" "status of the dry run"
assert_eq dry-run "$(jq -r .rootJobId <<<"$DRY")" "rootJobId of the dry run"
assert_eq dry-run "$(jq -r .status <<<"$DRY")" "status of the dry run"
for field in totalChapters estimatedTopics estimatedNotes estimatedQuestions estimatedCostUsd estimatedDurationMins; do
  jq -e ".estimates.$field | numbers" <<<"$DRY" >/dev/null || fail "the dry run has no numeric estimates.$field: $DRY"
done
assert_eq 0 "$(jq -r .estimates.estimatedQuestions <<<"$DRY")" "questions estimated with generateQuestions false"
assert_eq "$(jq -r .estimates.estimatedTopics <<<"$DRY")" "$(jq -r .estimates.estimatedNotes <<<"$DRY")" "a note per topic"
assert_eq "$BEFORE" "$(db_snapshot)" "the database after a dry run"

note "Phase 4.2 verbatim: 202 with rootJobId, status, estimates, traceId, createdAt and Location"
CODE=$(curl -sS -o "$E2E_DIR/submit.json" -D "$E2E_DIR/submit.headers" -w '%{http_code}' \
  -X POST "$URL/api/admin/hydrateAll" \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $TOKEN" \
  -d '{
    "language": "en",
    "boardCode": "CBSE",
    "grade": "1",
    "subjectCode": "MATH"
  }')
SUBMIT=$(cat "$E2E_DIR/submit.json")
assert_eq 202 "$CODE" "status of a new submit"
BIG=$(jq -er .rootJobId <<<"$SUBMIT")
assert_eq pending "$(jq -r .status <<<"$SUBMIT")" "status of the new root"
jq -e '.estimates.totalChapters | numbers' <<<"$SUBMIT" >/dev/null || fail "no estimates: $SUBMIT"
[[ $(jq -r .traceId <<<"$SUBMIT") == hydrate-* ]] || fail "traceId: $SUBMIT"
[[ $(jq -r .createdAt <<<"$SUBMIT") =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] || fail "createdAt: $SUBMIT"
assert_eq "/api/admin/hydrateAll/$BIG" "$(tr -d '\r' <"$E2E_DIR/submit.headers" | sed -n 's/^Location: //Ip')" "Location"
assert_eq "$BIG" "$(sql "SELECT job_id FROM roots")" "the root stored"

note "a duplicate of a live root returns that root (200), on either server"
URL=$SECOND_URL
call POST /api/admin/hydrateAll -H "$H_AUTH" -d '{"language":"en","boardCode":"CBSE","grade":"1","subjectCode":"MATH"}'
assert_eq 200 "$CODE" "status of a duplicate submit (second server, rotated token file)"
assert_eq "$BIG" "$(jq -r .rootJobId <<<"$BODY")" "the duplicate's rootJobId"
assert_eq true "$(jq -r .deduplicated <<<"$BODY")" "deduplicated"
URL=$SERVE_URL

note "Phase 4.3 verbatim: the status with progress levels and the HydrationJob columns"
CODE=$(curl -sS -o "$E2E_DIR/status.json" -w '%{http_code}' "$URL/api/admin/hydrateAll/$BIG" \
  -H "Authorization: Bearer $TOKEN")
STATUS=$(cat "$E2E_DIR/status.json")
assert_eq 200 "$CODE" "GET a root"
assert_eq "$BIG" "$(jqs .jobId)" "jobId"
assert_eq pending "$(jqs .status)" "status"
for level in chapters topics notes questions; do
  jq -e ".progress.levels.$level.completed | numbers" <<<"$STATUS" >/dev/null || fail "progress.levels.$level: $STATUS"
  assert_eq "$(jqs ".progress.levels.$level.expected")" "$(jqs ".${level}Expected")" "${level}Expected"
  assert_eq "$(jqs ".progress.levels.$level.completed")" "$(jqs ".${level}Completed")" "${level}Completed"
done
assert_eq subject "$(jqs .hierarchyLevel)" "hierarchyLevel"
assert_eq "$(jqs .costs.estimatedUsd)" "$(jqs .estimatedCostUsd)" "estimatedCostUsd"
assert_eq "$(jqs .estimates.estimatedDurationMins)" "$(jqs .estimatedDurationMins)" "estimatedDurationMins"
assert_eq null "$(jqs .actualDurationMins)" "actualDurationMins while open"
# The CLI's status --json is the same document.
hy --json status "$BIG"
assert_eq "$(jq -S 'del(.errors)' <<<"$STATUS")" "$(jq -S 'del(.errors)' <<<"$RUN_OUT")" "the API's status against the CLI's"

note "cancel (DELETE), requeue, cancel again"
call DELETE "/api/admin/hydrateAll/$BIG?reason=smoke+test+done" -H "$H_AUTH"
assert_eq 200 "$CODE" "DELETE a root"
assert_eq cancelled "$(jq -r .status <<<"$BODY")" "status after DELETE"
assert_eq "smoke test done" "$(jq -r .reason <<<"$BODY")" "reason after DELETE"
call POST "/api/admin/hydrateAll/$BIG/requeue" -H "$H_AUTH" -d ""
assert_eq 200 "$CODE" "requeue"
assert_ge 1 "$(jq -r .requeued <<<"$BODY")" "steps requeued"
assert_eq running "$(jq -r .status <<<"$BODY")" "status after requeue"
call DELETE "/api/admin/hydrateAll/$BIG" -H "$H_AUTH"
assert_eq cancelled "$(jq -r .status <<<"$BODY")" "status after the second DELETE"

note "a small tree through the API, worked to the end, exported"
start_mock --latency-ms 20
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "Content-Type: application/json" \
  -d '{"language":"en","boardCode":"CBSE","grade":"2","subjectCode":"SCIENCE","chapters":2,"topicsPerChapter":2,"questionsPerTopic":2,"budgetUsd":5,"priority":3}'
assert_eq 202 "$CODE" "submit with hydrate's own fields"
SMALL=$(jq -er .rootJobId <<<"$BODY")
assert_eq 5 "$(sql "SELECT CAST(budget_usd AS INTEGER) FROM roots WHERE job_id = '$SMALL'")" "budgetUsd stored as the budget"
work_until_idle --concurrency 4
call GET "/api/admin/hydrateAll/$SMALL" -H "$H_AUTH"
assert_eq succeeded "$(jq -r .status <<<"$BODY")" "the small tree's status"
assert_eq 2 "$(jq -r .chaptersCompleted <<<"$BODY")" "chaptersCompleted"
jq -e '.actualDurationMins | numbers' <<<"$BODY" >/dev/null || fail "actualDurationMins once finished: $BODY"
call GET "/api/admin/hydrateAll/$SMALL/export" -H "$H_AUTH"
assert_eq 200 "$CODE" "export"
hy export "$SMALL"
assert_eq "$RUN_OUT" "$BODY" "the API's JSON export against the CLI's"
call GET "/api/admin/hydrateAll/$SMALL/export?format=markdown" -H "$H_AUTH"
assert_eq 200 "$CODE" "markdown export"
assert_contains "$(header Content-Type)" "text/markdown" "markdown content type"
call GET "/api/admin/hydrateAll/$SMALL/export?format=pdf" -H "$H_AUTH"
assert_eq 400 "$CODE" "an unknown export format"
CHAPTER=$(sql "SELECT id FROM jobs WHERE root_id = '$SMALL' AND kind = 'chapter' ORDER BY position LIMIT 1")
call GET "/api/admin/hydrateAll/$CHAPTER" -H "$H_AUTH"
assert_eq chapter "$(jq -r .kind <<<"$BODY")" "a step's status"

note "history: filter by status, paging"
call GET "/api/admin/hydrateAll?status=succeeded" -H "$H_AUTH"
assert_eq 200 "$CODE" "history"
assert_eq "$SMALL" "$(jq -r '[.jobs[].jobId] | join(",")' <<<"$BODY")" "succeeded roots"
call GET "/api/admin/hydrateAll?limit=1" -H "$H_AUTH"
assert_eq 1 "$(jq '.jobs | length' <<<"$BODY")" "a page of one"
assert_eq "$SMALL" "$(jq -r '.jobs[0].jobId' <<<"$BODY")" "the newest first"
assert_eq 1 "$(jq -r .nextOffset <<<"$BODY")" "nextOffset"
call GET "/api/admin/hydrateAll?limit=1&offset=1" -H "$H_AUTH"
assert_eq "$BIG" "$(jq -r '.jobs[0].jobId' <<<"$BODY")" "the second page"
assert_eq null "$(jq -r .nextOffset <<<"$BODY")" "no page after the last"
for bad in "status=finished" "limit=0" "limit=201" "offset=-1" "limit=ten"; do
  call GET "/api/admin/hydrateAll?$bad" -H "$H_AUTH"
  assert_eq 400 "$CODE" "history with $bad"
  assert_eq invalid_request "$(jq -r .error <<<"$BODY")" "the error code for $bad"
done

note "report and metrics"
call GET "/api/admin/hydrateAll/report?since=24h" -H "$H_AUTH"
assert_eq 200 "$CODE" "report"
assert_eq 5 "$(jq '.metrics | length' <<<"$BODY")" "report figures"
assert_eq 1 "$(jq -r .roots.succeeded <<<"$BODY")" "succeeded roots in the report"
call GET "/api/admin/hydrateAll/report?since=soon" -H "$H_AUTH"
assert_eq 400 "$CODE" "report with a bad since"
# Phase 4.4 verbatim (host aside).
METRICS=$(curl "$URL/metrics" | grep hydrate)
assert_contains "$METRICS" 'hydrate_jobs_created_total{target="subject"} 2' "metrics through serve"
assert_contains "$METRICS" 'hydrate_jobs_claimed_total' "metrics through serve"

note "the mode: online or batch, else submit.mode as the serve process resolves it"
J='Content-Type: application/json'
SLOT4='"language":"en","boardCode":"CBSE","grade":"4","subjectCode":"MATH","chapters":1,"topicsPerChapter":1,"questionsPerTopic":1'
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"options\":{\"dryRun\":true}}"
assert_eq online "$(jq -r .estimates.mode <<<"$BODY")" "the mode of a dry run without one (the default submit.mode)"
ONLINE_COST=$(jq -r .estimates.estimatedCostUsd <<<"$BODY")
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"mode\":\"batch\",\"options\":{\"dryRun\":true}}"
assert_eq 200 "$CODE" "a batch-mode dry run"
assert_eq batch "$(jq -r .estimates.mode <<<"$BODY")" "the mode of the batch-mode dry run"
awk -v o="$ONLINE_COST" -v b="$(jq -r .estimates.estimatedCostUsd <<<"$BODY")" \
  'BEGIN { d = o - 2 * b; exit !(b > 0 && d <= 2e-6 && d >= -2e-6) }' ||
  fail "the batch estimate $(jq -r .estimates.estimatedCostUsd <<<"$BODY") is not half the online $ONLINE_COST"
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"mode\":\"batch\"}"
assert_eq 202 "$CODE" "a batch-mode submit"
BATCHED=$(jq -er .rootJobId <<<"$BODY")
assert_eq batch/batch "$(sql "SELECT mode FROM roots WHERE job_id = '$BATCHED'")/$(sql "SELECT DISTINCT mode FROM jobs WHERE root_id = '$BATCHED'")" \
  "the mode of the root and its step in the database"
call GET "/api/admin/hydrateAll/$BATCHED" -H "$H_AUTH"
assert_eq "batch 0 0 0" "$(jq -r '"\(.mode) \(.batches | length) \(.savings.calls) \(.savings.savingUsd)"' <<<"$BODY")" \
  "mode, open batches and savings in the batch root's status"
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"mode\":\"online\"}"
assert_eq 202 "$CODE" "an online submit of the same slot (another root: the mode is one of its options)"
ONLINE_ROOT=$(jq -er .rootJobId <<<"$BODY")
call GET "/api/admin/hydrateAll/$ONLINE_ROOT" -H "$H_AUTH"
assert_eq "online null" "$(jq -r '"\(.mode) \(.savings)"' <<<"$BODY")" "mode and savings in the online root's status"
call GET "/api/admin/hydrateAll?status=pending" -H "$H_AUTH"
assert_eq "$ONLINE_ROOT online,$BATCHED batch" "$(jq -r '[.jobs[] | "\(.jobId) \(.mode)"] | join(",")' <<<"$BODY")" \
  "the modes in the history"
for bad in '"fast"' '"BATCH"' '""' '5' '["batch"]'; do
  call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"mode\":$bad}"
  assert_eq "400 invalid_request" "$CODE $(jq -r .error <<<"$BODY")" "a mode of $bad"
  [[ $(jq -r .message <<<"$BODY") == *"must be"* && $(jq -r .message <<<"$BODY") != *$'\n'* ]] ||
    fail "the message for a mode of $bad: $(jq -r .message <<<"$BODY")"
done
assert_eq "mode must be online or batch (got 'fast')" \
  "$(call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"mode\":\"fast\"}"; jq -r .message <<<"$BODY")" \
  "the message for an unknown mode"
start_serve THIRD HYDRATE_ADMIN_TOKEN="$TOKEN" HYDRATE_MODE=batch
URL=$THIRD_URL
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"options\":{\"dryRun\":true}}"
assert_eq batch "$(jq -r .estimates.mode <<<"$BODY")" "the default mode of a serve with HYDRATE_MODE=batch"
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"mode\":\"online\",\"options\":{\"dryRun\":true}}"
assert_eq online "$(jq -r .estimates.mode <<<"$BODY")" "\"mode\" over HYDRATE_MODE"
kill -TERM "$THIRD"
reap "$THIRD" 30
assert_eq 0 "$REAP_RC" "exit status of the third serve"
start_serve FOURTH HYDRATE_ADMIN_TOKEN="$TOKEN" HYDRATE_LLM_FLAVOR=ollama
URL=$FOURTH_URL
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"mode\":\"batch\"}"
assert_eq 400 "$CODE" "a batch-mode submit to a serve whose endpoint has no Batch API"
assert_contains "$(jq -r .message <<<"$BODY")" "mode batch needs an OpenAI endpoint's Batch API, but the endpoint is ollama" "the message"
call POST /api/admin/hydrateAll -H "$H_AUTH" -H "$J" -d "{$SLOT4,\"options\":{\"dryRun\":true}}"
assert_eq 200 "$CODE" "an online dry run there"
kill -TERM "$FOURTH"
reap "$FOURTH" 30
assert_eq 0 "$REAP_RC" "exit status of the fourth serve"
URL=$SERVE_URL
HYDRATE_ADMIN_TOKEN=$TOKEN HYDRATE_MODE=later run "$HYDRATE_BIN" serve --listen 127.0.0.1:0
assert_eq 2 "$RUN_RC" "exit status of serve with HYDRATE_MODE=later"
assert_contains "$RUN_ERR" "submit.mode must be online or batch (got 'later' from environment HYDRATE_MODE)" "the error"
for root in "$BATCHED" "$ONLINE_ROOT"; do
  call DELETE "/api/admin/hydrateAll/$root" -H "$H_AUTH"
  assert_eq cancelled "$(jq -r .status <<<"$BODY")" "the mode test's root after DELETE"
done

note "hostile requests are refused and change nothing"
BEFORE=$(db_snapshot)
call POST /api/admin/hydrateAll -H "$H_AUTH" -d '{"language": "en", "boardCode": '
assert_eq 400 "$CODE" "malformed JSON"
call POST /api/admin/hydrateAll -H "$H_AUTH" -d '["not", "an", "object"]'
assert_eq 400 "$CODE" "a JSON array"
call POST /api/admin/hydrateAll -H "$H_AUTH" -d '{"language":"en","boardCode":"CBSE","grade":"1"}'
assert_eq 400 "$CODE" "a missing subjectCode"
assert_contains "$(jq -r .message <<<"$BODY")" "subjectCode" "the message"
call POST /api/admin/hydrateAll -H "$H_AUTH" -d '{"language":"en","boardCode":"CBSE","grade":"1","subjectCode":"MATH","options":{"generateNotes":"yes"}}'
assert_eq 400 "$CODE" "a string for a boolean"
call POST /api/admin/hydrateAll -H "$H_AUTH" -d '{"language":"en","boardCode":"CBSE","grade":"1","subjectCode":"MATH","chapters":5000}'
assert_eq 400 "$CODE" "chapters out of range"
call POST /api/admin/hydrateAll -H "$H_AUTH" -d '{"language":"en","boardCode":"CBSE","grade":"1","subjectCode":"MATH","budgetUsd":0.0000001}'
assert_eq 422 "$CODE" "a budget below the estimate"
assert_eq over_budget "$(jq -r .error <<<"$BODY")" "the error code"
head -c 70000 /dev/zero | tr '\0' 'x' >"$E2E_DIR/big.json"
call POST /api/admin/hydrateAll -H "$H_AUTH" --data-binary "@$E2E_DIR/big.json"
assert_eq 413 "$CODE" "a body over 64 KiB"
call GET "/api/admin/hydrateAll/../../../etc/passwd" --path-as-is -H "$H_AUTH"
assert_eq 404 "$CODE" "path traversal"
call GET "/api/admin/hydrateAll/%2e%2e%2f%2e%2e%2fetc%2fpasswd" -H "$H_AUTH"
assert_eq 404 "$CODE" "encoded path traversal"
call GET "/api/admin/hydrateAll/01ZZZZZZZZZZZZZZZZZZZZZZZZ" -H "$H_AUTH"
assert_eq 404 "$CODE" "a job that does not exist"
call DELETE "/api/admin/hydrateAll/01ZZZZZZZZZZZZZZZZZZZZZZZZ" -H "$H_AUTH"
assert_eq 404 "$CODE" "cancelling a job that does not exist"
call PUT "/api/admin/hydrateAll/$SMALL" -H "$H_AUTH" -d "{}"
assert_eq 405 "$CODE" "PUT on a job"
assert_eq "GET, DELETE" "$(header Allow)" "Allow"
call GET "/api/admin/hydrateAll/$SMALL/nothing" -H "$H_AUTH"
assert_eq 404 "$CODE" "an unknown action"
call GET /nowhere
assert_eq 404 "$CODE" "an unknown path"
# A client that sends half a request line and then nothing: the server drops it after its read
# timeout, and answers others meanwhile.
exec {SLOW}<>"/dev/tcp/127.0.0.1/${URL##*:}"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' >&"$SLOW"
call GET /healthz
assert_eq 200 "$CODE" "healthz while a client hangs"
timeout 60 cat <&"$SLOW" >"$E2E_DIR/slow.out" || fail "the server kept a client that never finished its headers for 60 s"
exec {SLOW}>&-
assert_eq "$BEFORE" "$(db_snapshot)" "the database after the hostile requests"

note "the token never reaches the logs; SIGTERM stops serve with exit 0"
for pid in "$SERVE" "$SECOND"; do
  kill -TERM "$pid"
  reap "$pid" 30
  assert_eq 0 "$REAP_RC" "exit status of serve after SIGTERM"
done
grep -q "$TOKEN" "$E2E_DIR"/serve.*.err "$E2E_DIR"/serve.*.out && fail "the token appears in serve's output"
assert_contains "$(cat "$E2E_DIR/serve.SERVE.err")" "GET /api/admin/hydrateAll" "serve's request log (-v)"
