#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The local endpoint's Batch API (/v1/files, /v1/batches), driven with curl and jq as hydrate's
# batch mode will drive it: ~200 of hydrate's own chat requests uploaded as JSONL, run as a batch
# with metadata through validating → in_progress → finalizing → completed, every custom_id
# answered exactly once by a chat.completion with usage whose content is what the online route
# answers the same body under the same seed. Then each batch fault (failed, expired part way,
# 500 error lines, slow finalizing, the enqueued-token limit seen only when polled), the online
# faults (only those of the content reach a batch's lines), cancel mid-run, list paging
# and the lookup of a batch by its metadata, file deletion, the API key, and the requests OpenAI
# refuses (at create, and in validation with errors.data[]). Every File and Batch object answered
# is checked against batch-api.yaml's schemas (tests/tools/batch_spec_check.py).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init mock_batch_api
[[ -n ${HYDRATE_REQUEST_BODIES_BIN:-} && -x ${HYDRATE_REQUEST_BODIES_BIN:-} ]] ||
  fail "HYDRATE_REQUEST_BODIES_BIN must name the built hydrate_request_bodies; run through ctest"
need_tool python3
python3 -c 'import jsonschema, yaml' 2>/dev/null ||
  fail "python3 lacks jsonschema or yaml: run scripts/setup (python3-jsonschema, python3-yaml)"
SPEC=${HYDRATE_OPENAI_BATCH_SPEC:-$HYDRATE_SOURCE_DIR/../shared/openai/batch-api.yaml}
[[ -r $SPEC ]] || fail "OpenAI's Batch API description is not readable at $SPEC (set HYDRATE_OPENAI_BATCH_SPEC)"

OBJECTS=$E2E_DIR/objects.tsv  # every File and Batch object answered, "SCHEMA<TAB>JSON"
: >"$OBJECTS"
AUTH=()

# --- helpers --------------------------------------------------------------------------------

# api METHOD PATH [curl args…]: one request to the endpoint; sets API_STATUS and API_BODY.
api() {
  local method=$1 path=$2
  shift 2
  E2E_SEQ=$((E2E_SEQ + 1))
  local out="$E2E_DIR/api.$E2E_SEQ.body"
  API_STATUS=$(curl -sS --max-time 30 -o "$out" -w '%{http_code}' -X "$method" \
    "${AUTH[@]+"${AUTH[@]}"}" "$MOCK_URL$path" "$@" 2>"$out.err") ||
    fail "curl $method $path failed: $(cat "$out.err")"
  API_BODY=$(cat "$out")
}

# api_ok SCHEMA METHOD PATH [curl args…]: api, requiring 200; records the object for the schema
# check (SCHEMA "-" records nothing).
api_ok() {
  local schema=$1
  shift
  api "$@"
  assert_eq 200 "$API_STATUS" "status of $1 $2 (body: ${API_BODY:0:300})"
  if [[ $schema != - ]]; then printf '%s\t%s\n' "$schema" "$API_BODY" >>"$OBJECTS"; fi
}

# assert_api_error STATUS PARAM CODE WHAT: the last answer is OpenAI's error with this status,
# param and code ("null" for none).
assert_api_error() {
  local status=$1 param=$2 code=$3 what=$4
  assert_eq "$status" "$API_STATUS" "HTTP status of $what"
  assert_eq "invalid_request_error $param $code" \
    "$(jq -r '"\(.error.type) \(.error.param) \(.error.code)"' <<<"$API_BODY")" \
    "error type, param and code of $what (message: $(jq -r .error.message <<<"$API_BODY"))"
}

# upload FILE [PURPOSE]: POST /v1/files; sets FILE_ID.
upload() {
  api_ok OpenAIFile POST /v1/files -F "purpose=${2:-batch}" -F "file=@$1"
  FILE_ID=$(jq -r .id <<<"$API_BODY")
  [[ $FILE_ID =~ ^file-[A-Za-z0-9]{24}$ ]] || fail "file id '$FILE_ID' is not file- and 24 letters or digits"
}

# batch_body FILE_ID [METADATA]: a CreateBatchRequest.
batch_body() {
  jq -cn --arg file "$1" --argjson metadata "${2:-null}" \
    '{input_file_id: $file, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: $metadata}'
}

# create_batch FILE_ID [METADATA]: POST /v1/batches; sets BATCH_ID and BATCH. Visible at once:
# status validating, nothing counted, no error.
create_batch() {
  api_ok Batch POST /v1/batches -H 'Content-Type: application/json' -d "$(batch_body "$@")"
  BATCH=$API_BODY
  BATCH_ID=$(jq -r .id <<<"$BATCH")
  [[ $BATCH_ID =~ ^batch_[0-9a-f]{32}$ ]] || fail "batch id '$BATCH_ID' is not batch_ and 32 hex digits"
  assert_eq "validating null 0" "$(jq -r '"\(.status) \(.errors) \(.request_counts.total)"' <<<"$BATCH")" \
    "status, errors and total of a batch just created"
}

# poll_batch ID [UNTIL]: GET /v1/batches/ID until its status is final (or UNTIL, a jq condition
# on the batch, holds), 60 s at most. Sets BATCH, SEEN (the statuses in the order seen, from
# that of BATCH when it is this batch as create or cancel answered it) and PARTIAL (1 when an
# in_progress poll saw some but not all lines answered). The counts must never go down.
poll_batch() {
  local id=$1 until=${2:-false} deadline=$((SECONDS + 60)) status last done_before=0 done_now
  last=$(jq -r --arg id "$id" 'select(.id == $id) | .status' <<<"${BATCH:-{\}}")
  SEEN=$last
  PARTIAL=0
  while true; do
    api_ok Batch GET "/v1/batches/$id"
    BATCH=$API_BODY
    read -r status done_now total < <(jq -r '"\(.status) \(.request_counts.completed + .request_counts.failed) \(.request_counts.total)"' <<<"$BATCH")
    [[ $status == "$last" ]] || SEEN+="${SEEN:+ }$status"
    last=$status
    ((done_now >= done_before)) || fail "batch $id: lines done went from $done_before down to $done_now"
    done_before=$done_now
    if [[ $status == in_progress ]] && ((done_now > 0 && done_now < total)); then PARTIAL=1; fi
    case $status in completed | failed | expired | cancelled) return 0 ;; esac
    if jq -e "$until" <<<"$BATCH" >/dev/null; then return 0; fi
    ((SECONDS < deadline)) || fail "batch $id is still $status after 60 s"
    sleep 0.02
  done
}

bj() { jq -r "$1" <<<"$BATCH"; }

# assert_path PATH WHAT: the statuses poll_batch saw (SEEN) follow PATH, in its order, and end
# where it ends; a poll on a loaded machine may miss a short status, and the time stamps the
# callers check show that it was passed through.
assert_path() {
  local path=" $1 " what=$2 status rest
  rest=$path
  for status in $SEEN; do
    [[ $rest == *" $status "* ]] || fail "$what: saw '$SEEN', not along '$1'"
    rest=" ${rest#* "$status" }"
  done
  assert_eq "${1##* }" "${SEEN##* }" "$what: the last status"
}

# download FILE_ID OUT: the file's content into OUT.
download() {
  api GET "/v1/files/$1/content"
  assert_eq 200 "$API_STATUS" "status of GET /v1/files/$1/content"
  printf '%s\n' "$API_BODY" | sed '/^$/d' >"$2"
}

# request_line CUSTOM_ID BODY: one line of an input file.
request_line() {
  jq -cn --arg id "$1" --argjson body "$2" '{custom_id: $id, method: "POST", url: "/v1/chat/completions", body: $body}'
}

stats() { curl -fsS --max-time 10 "$MOCK_URL/stats"; }

FAST=(--batch-validating-ms 20 --batch-ms 40 --batch-finalizing-ms 20 --batch-cancelling-ms 20)

# --- the input: ~200 of hydrate's requests --------------------------------------------------

# Every openai-flavor body hydrate builds, on one model (a batch runs one), distinct, 200 of them.
"$HYDRATE_REQUEST_BODIES_BIN" | awk -F'\t' '$1 ~ /^[a-z]+\/openai\//' | cut -f2 |
  jq -c '.model = "gpt-4o-mini"' | awk '!seen[$0]++ && ++kept <= 200' >"$E2E_DIR/bodies.jsonl"
N=$(wc -l <"$E2E_DIR/bodies.jsonl")
assert_eq 200 "$N" "distinct request bodies taken from hydrate_request_bodies"
jq -cn '[inputs] | to_entries[] | {custom_id: "step-\(.key + 1)", method: "POST", url: "/v1/chat/completions", body: .value}' \
  "$E2E_DIR/bodies.jsonl" >"$E2E_DIR/input.jsonl"
jq -r .custom_id "$E2E_DIR/input.jsonl" | sort >"$E2E_DIR/input.ids"
assert_eq 3 "$(jq -r '.body.response_format.type // "none"' "$E2E_DIR/input.jsonl" | sort -u | wc -l)" \
  "response formats among the requests (json_schema, json_object, none)"

# --- a whole batch --------------------------------------------------------------------------

SEED=7
# In progress long enough for a poll to see part of the lines answered.
start_mock --seed "$SEED" --batch-validating-ms 300 --batch-ms 3000 --batch-finalizing-ms 300
upload "$E2E_DIR/input.jsonl"
INPUT_FILE=$FILE_ID
assert_eq "batch input.jsonl $(wc -c <"$E2E_DIR/input.jsonl") processed" \
  "$(jq -r '"\(.purpose) \(.filename) \(.bytes) \(.status)"' <<<"$API_BODY")" "the uploaded file's purpose, name, size, status"
assert_eq "$(jq -r .created_at <<<"$API_BODY")" "$(jq -r '.expires_at - 30 * 86400' <<<"$API_BODY")" \
  "a batch file expires 30 days after it was created"
api_ok OpenAIFile GET "/v1/files/$INPUT_FILE"
assert_eq "$INPUT_FILE" "$(jq -r .id <<<"$API_BODY")" "GET /v1/files/ID"
api GET "/v1/files/$INPUT_FILE/content"
assert_eq "$(cat "$E2E_DIR/input.jsonl")" "$API_BODY" "content of the uploaded file, downloaded"

RUN=run-$RANDOM$RANDOM
create_batch "$INPUT_FILE" "{\"hydrate_run\":\"$RUN\",\"level\":\"1\"}"
MAIN_BATCH=$BATCH_ID
poll_batch "$MAIN_BATCH"
note "main batch: $SEEN"
assert_path "validating in_progress finalizing completed" "statuses of the batch, in the order polled"
assert_eq 1 "$PARTIAL" "an in_progress poll saw part of the lines answered"
assert_eq "$N $N 0" "$(bj '"\(.request_counts.total) \(.request_counts.completed) \(.request_counts.failed)"')" \
  "request counts (total completed failed) of the completed batch"
assert_eq "true true null null null null null gpt-4o-mini $RUN" \
  "$(bj '"\(([.in_progress_at, .finalizing_at, .completed_at] | (map(type) == ["number", "number", "number"]) and .[0] <= .[1] and .[1] <= .[2]) and .created_at <= .in_progress_at) \(.expires_at == .created_at + 86400) \(.error_file_id) \(.failed_at) \(.expired_at) \(.cancelling_at) \(.cancelled_at) \(.model) \(.metadata.hydrate_run)"')" \
  "time stamps in order, expiry after 24 h, no error file, unset time stamps null, model, metadata"
OUTPUT_FILE=$(bj .output_file_id)
api_ok OpenAIFile GET "/v1/files/$OUTPUT_FILE"
assert_eq "batch_output ${MAIN_BATCH}_output.jsonl" "$(jq -r '"\(.purpose) \(.filename)"' <<<"$API_BODY")" \
  "purpose and name of the output file"
download "$OUTPUT_FILE" "$E2E_DIR/output.jsonl"
assert_eq "$N" "$(wc -l <"$E2E_DIR/output.jsonl")" "lines of the output file"
assert_eq "$(cat "$E2E_DIR/input.ids")" "$(jq -r .custom_id "$E2E_DIR/output.jsonl" | sort)" \
  "custom_ids of the output file: every request's, each once"
[[ $(jq -r .custom_id "$E2E_DIR/output.jsonl") != "$(jq -r .custom_id "$E2E_DIR/input.jsonl")" ]] ||
  fail "the output file follows the input's order (OpenAI does not promise it; the endpoint must not either)"
assert_eq 0 "$(jq -c 'select((.id | test("^batch_req_[A-Za-z0-9]{24}$") | not) or .error != null
    or .response.status_code != 200 or (.response.request_id | test("^req_[0-9a-f]{32}$") | not)
    or .response.body.object != "chat.completion" or (.response.body.id | startswith("chatcmpl-") | not)
    or .response.body.model != "gpt-4o-mini" or (.response.body.choices[0].message.content | type) != "string"
    or .response.body.choices[0].finish_reason == null or .response.body.usage.prompt_tokens < 1
    or .response.body.usage.completion_tokens < 1
    or .response.body.usage.total_tokens != .response.body.usage.prompt_tokens + .response.body.usage.completion_tokens)' \
  "$E2E_DIR/output.jsonl" | wc -l)" "output lines that are not a 200 chat.completion with usage"
assert_eq "$(jq -s '[.[].response.body.usage.prompt_tokens] | add' "$E2E_DIR/output.jsonl") $(jq -s '[.[].response.body.usage.completion_tokens] | add' "$E2E_DIR/output.jsonl")" \
  "$(bj '"\(.usage.input_tokens) \(.usage.output_tokens)"')" "the batch's usage: the sum of its lines'"

STATS=$(stats)
assert_eq "1 1 $N 0 $N 0" \
  "$(jq -r '.batches | "\(.created) \(.byStatus.completed) \(.lines.answered) \(.lines.errors) \(.billed.calls) \(.byStatus.failed)"' <<<"$STATS")" \
  "/stats batches: created, completed, lines answered, error lines, billed calls, failed"
assert_eq "$(bj .usage.input_tokens) 0" "$(jq -r '"\(.batches.billed.promptTokens) \(.requests.total)"' <<<"$STATS")" \
  "/stats: batch prompt tokens billed; online requests (none yet)"

# The same body online, under the same seed: the same content and usage.
while IFS=$'\t' read -r id body; do
  answer=$(curl -fsS --max-time 30 "$MOCK_URL/v1/chat/completions" -H 'Content-Type: application/json' \
    --data-binary "$body") || fail "POST /v1/chat/completions of $id failed"
  printf '{"custom_id":"%s","answer":%s}\n' "$id" "$answer"
done < <(jq -r '"\(.custom_id)\t\(.body | tojson)"' "$E2E_DIR/input.jsonl") >"$E2E_DIR/online.jsonl"
# (JSON in, not raw lines: jq 1.6 -R garbles a character that straddles its read buffer.)
jq -r '[.custom_id, (.answer.choices[0].message.content | @json), (.answer.usage | tojson)] | @tsv' \
  "$E2E_DIR/online.jsonl" | sort >"$E2E_DIR/online.tsv"
jq -r '[.custom_id, (.response.body.choices[0].message.content | @json), (.response.body.usage | tojson)] | @tsv' \
  "$E2E_DIR/output.jsonl" | sort >"$E2E_DIR/batched.tsv"
assert_eq "$N" "$(wc -l <"$E2E_DIR/online.tsv")" "requests answered online"
cmp -s "$E2E_DIR/online.tsv" "$E2E_DIR/batched.tsv" ||
  fail "batch and online answers differ (content, usage): see $E2E_DIR/online.tsv and batched.tsv"
# Prompt tokens by custom_id, for the token-limit batches below.
cut -f1,3 "$E2E_DIR/online.tsv" | sed 's/\t.*"prompt_tokens":\([0-9]*\).*/\t\1/' >"$E2E_DIR/prompt_tokens.tsv"

api POST "/v1/batches/$MAIN_BATCH/cancel"
assert_api_error 409 null batch_not_cancellable "cancelling a completed batch"
stop_mock
note "a batch of $N requests: answered once each, as online"

# --- faults ---------------------------------------------------------------------------------

# Fails in validation, with the error shown.
start_mock --seed "$SEED" "${FAST[@]}" --batch-rate-failed 1
upload "$E2E_DIR/input.jsonl"
create_batch "$FILE_ID"
poll_batch "$BATCH_ID"
assert_path "validating failed" "statuses of a batch that fails"
assert_eq "server_error null null null 0 true" \
  "$(bj '"\(.errors.data[0].code) \(.in_progress_at) \(.output_file_id) \(.error_file_id) \(.request_counts.total) \(.failed_at >= .created_at)"')" \
  "error code, in_progress_at, files, total, failed_at of a failed batch"
assert_eq 1 "$(stats | jq .batches.byStatus.failed)" "/stats batches failed"
stop_mock

# Expires part way: the answered lines in the output file, the rest batch_expired in the error file.
start_mock --seed "$SEED" --batch-validating-ms 20 --batch-ms 3000 --batch-rate-expired 1
upload "$E2E_DIR/input.jsonl"
create_batch "$FILE_ID"
poll_batch "$BATCH_ID"
assert_path "validating in_progress expired" "statuses of a batch that expires"
read -r done failed < <(bj '"\(.request_counts.completed) \(.request_counts.failed)"')
note "expired after $done of $N lines"
assert_ge 1 "$done" "lines answered before the batch expired"
assert_le $((N - 1)) "$done" "lines answered before the batch expired"
assert_eq "$N" $((done + failed)) "completed + failed of an expired batch"
assert_eq "null null true" "$(bj '"\(.completed_at) \(.finalizing_at) \((.in_progress_at | type) == "number" and .expired_at >= .in_progress_at)"')" \
  "completed_at, finalizing_at, expired_at of an expired batch"
download "$(bj .output_file_id)" "$E2E_DIR/expired.out"
download "$(bj .error_file_id)" "$E2E_DIR/expired.err"
assert_eq "$done $failed" "$(wc -l <"$E2E_DIR/expired.out") $(wc -l <"$E2E_DIR/expired.err")" \
  "lines of the output and error files of the expired batch"
assert_eq 0 "$(jq -c 'select(.response != null or .error.code != "batch_expired")' "$E2E_DIR/expired.err" | wc -l)" \
  "error lines of the expired batch that are not batch_expired"
assert_eq "$(cat "$E2E_DIR/input.ids")" "$(cat "$E2E_DIR/expired.out" "$E2E_DIR/expired.err" | jq -r .custom_id | sort)" \
  "custom_ids of the expired batch's two files: every request's, each once"
assert_eq "1 $failed" "$(stats | jq -r '"\(.batches.byStatus.expired) \(.batches.lines.expired)"')" "/stats expired batches and lines"
stop_mock

# 500 error lines in the error file. The same seed and input give the same files, ids and all,
# on a fresh endpoint.
for run in 1 2; do
  start_mock --seed "$SEED" "${FAST[@]}" --batch-rate-error-line 0.1
  upload "$E2E_DIR/input.jsonl"
  create_batch "$FILE_ID"
  poll_batch "$BATCH_ID"
  assert_eq completed "$(bj .status)" "status of a batch with error lines"
  download "$(bj .output_file_id)" "$E2E_DIR/lines.$run.out"
  download "$(bj .error_file_id)" "$E2E_DIR/lines.$run.err"
  printf '%s %s %s\n' "$BATCH_ID" "$(bj .output_file_id)" "$(bj .error_file_id)" >"$E2E_DIR/lines.$run.ids"
  LINE_STATS=$(stats)
  stop_mock
done
read -r done failed < <(bj '"\(.request_counts.completed) \(.request_counts.failed)"')
servers=$(jq -c 'select(.response.status_code == 500 and .response.body.error.type == "server_error")' "$E2E_DIR/lines.1.err" | wc -l)
note "$servers lines answered 500 of $N"
assert_ge 1 "$servers" "lines answered 500"
assert_le $((N / 4)) "$servers" "lines answered 500 (10 % drawn)"
assert_eq "$N $done $servers" "$((done + failed)) $(wc -l <"$E2E_DIR/lines.1.out") $failed" \
  "total vs completed + failed; output lines; error lines"
assert_eq "$(cat "$E2E_DIR/input.ids")" "$(cat "$E2E_DIR/lines.1.out" "$E2E_DIR/lines.1.err" | jq -r .custom_id | sort)" \
  "custom_ids of the output and error files: every request's, each once"
assert_eq "$servers $servers" "$(jq -r '"\(.batches.lines.serverErrors) \(.batches.lines.errors)"' <<<"$LINE_STATS")" \
  "/stats batch lines answered 500, error lines"
assert_eq "$(cat "$E2E_DIR/lines.1.ids")" "$(cat "$E2E_DIR/lines.2.ids")" "batch and file ids of two runs, same seed"
for part in out err; do
  cmp -s <(jq -c 'del(.response.body.created)' "$E2E_DIR/lines.1.$part" | sort) \
    <(jq -c 'del(.response.body.created)' "$E2E_DIR/lines.2.$part" | sort) ||
    fail "two runs with the same seed and input wrote different .$part files"
done

# The online faults of how an answer travels never reach a batch's lines; the faults of what
# the model writes do.
start_mock --seed "$SEED" "${FAST[@]}" --rate-429 1 --rate-500 1 --rate-503 1 --rate-timeout 1 \
  --rate-malformed 1 --rate-hostile 1 --quota-after 0 --rpm 1
upload "$E2E_DIR/input.jsonl"
create_batch "$FILE_ID"
poll_batch "$BATCH_ID"
assert_eq "completed $N 0" "$(bj '"\(.status) \(.request_counts.completed) \(.request_counts.failed)"')" \
  "a batch under every online transport fault"
download "$(bj .output_file_id)" "$E2E_DIR/transport.out"
assert_eq 0 "$(jq -c 'select(.response.status_code != 200)' "$E2E_DIR/transport.out" | wc -l)" \
  "lines not answered 200 under the online transport faults"
stop_mock
start_mock --seed "$SEED" "${FAST[@]}" --rate-truncated 1
upload "$E2E_DIR/input.jsonl"
create_batch "$FILE_ID"
poll_batch "$BATCH_ID"
download "$(bj .output_file_id)" "$E2E_DIR/truncated.out"
assert_eq "$N" "$(jq -c 'select(.response.body.choices[0].finish_reason == "length")' "$E2E_DIR/truncated.out" | wc -l)" \
  "lines cut off (finish_reason length) under --rate-truncated 1"
stop_mock

# The enqueued-token limit: one half of the requests fits, both halves do not. The second batch
# is accepted, and fails with token_limit_exceeded only when polled; once the first is done, the
# same requests go through.
head -n 100 "$E2E_DIR/input.jsonl" >"$E2E_DIR/first_half.jsonl"
tail -n +101 "$E2E_DIR/input.jsonl" >"$E2E_DIR/second_half.jsonl"
# half_tokens FILE: the prompt tokens of FILE's requests, as answered online.
half_tokens() {
  awk -F'\t' 'NR == FNR { want[$1]; next } $1 in want { sum += $2 } END { print sum }' \
    <(jq -r .custom_id "$1") "$E2E_DIR/prompt_tokens.tsv"
}
A=$(half_tokens "$E2E_DIR/first_half.jsonl")
B=$(half_tokens "$E2E_DIR/second_half.jsonl")
LIMIT=$(((A > B ? A : B) + (A < B ? A : B) / 2))
note "enqueued-token limit $LIMIT for halves of $A and $B prompt tokens"
start_mock --seed "$SEED" --batch-validating-ms 20 --batch-ms 3000 --batch-finalizing-ms 20 --batch-token-limit "$LIMIT"
upload "$E2E_DIR/first_half.jsonl"
create_batch "$FILE_ID"
FIRST=$BATCH_ID
poll_batch "$FIRST" '.status == "in_progress"'
upload "$E2E_DIR/second_half.jsonl"
SECOND_FILE=$FILE_ID
create_batch "$SECOND_FILE"
poll_batch "$BATCH_ID"
assert_path "validating failed" "statuses of the batch over the token limit"
assert_eq "token_limit_exceeded null" "$(bj '"\(.errors.data[0].code) \(.errors.data[0].line)"')" "its error"
assert_contains "$(bj .errors.data[0].message)" "Enqueued token limit reached for gpt-4o-mini" "its message"
api_ok Batch GET "/v1/batches/$FIRST"
assert_eq in_progress "$(jq -r .status <<<"$API_BODY")" "the first batch, while the second failed"
poll_batch "$FIRST"
assert_eq completed "$(bj .status)" "the first batch"
create_batch "$SECOND_FILE"
poll_batch "$BATCH_ID"
assert_eq completed "$(bj .status)" "the second half, once the first is done"
stop_mock

# Cancelled mid-run: cancelling, then cancelled; the lines answered by then in the output file.
start_mock --seed "$SEED" --batch-validating-ms 20 --batch-ms 5000 --batch-cancelling-ms 300
upload "$E2E_DIR/input.jsonl"
create_batch "$FILE_ID"
poll_batch "$BATCH_ID" '.request_counts.completed >= 10'
# A bare POST, as OpenAI documents it (curl -X POST, no body, no Content-Length).
api_ok Batch POST "/v1/batches/$BATCH_ID/cancel"
BATCH=$API_BODY
assert_eq "cancelling true null" "$(bj '"\(.status) \((.cancelling_at | type) == "number" and .cancelling_at >= .in_progress_at) \(.cancelled_at)"')" \
  "status, cancelling_at, cancelled_at answered by cancel"
CANCELLED_AT_COUNT=$(bj .request_counts.completed)
poll_batch "$BATCH_ID"
assert_path "cancelling cancelled" "statuses after cancel"
assert_eq "$CANCELLED_AT_COUNT 0 $N true null" \
  "$(bj '"\(.request_counts.completed) \(.request_counts.failed) \(.request_counts.total) \((.cancelled_at | type) == "number" and .cancelled_at >= .cancelling_at) \(.completed_at)"')" \
  "counts (no line answered after cancel), cancelled_at, completed_at of the cancelled batch"
assert_le $((N - 1)) "$CANCELLED_AT_COUNT" "lines answered before cancel"
download "$(bj .output_file_id)" "$E2E_DIR/cancelled.out"
assert_eq "$CANCELLED_AT_COUNT" "$(jq -r .custom_id "$E2E_DIR/cancelled.out" | sort -u | grep -cFxf "$E2E_DIR/input.ids")" \
  "distinct requests of the input in the cancelled batch's output file"
api POST "/v1/batches/$BATCH_ID/cancel"
assert_api_error 409 null batch_not_cancellable "cancelling a cancelled batch"
assert_eq 1 "$(stats | jq .batches.byStatus.cancelled)" "/stats cancelled batches"
stop_mock
# A slow batch stays finalizing --batch-slow-finalizing-ms longer.
start_mock --seed "$SEED" "${FAST[@]}" --batch-rate-slow-finalizing 1 --batch-slow-finalizing-ms 1500
upload "$E2E_DIR/input.jsonl"
created=$(date +%s%N)
create_batch "$FILE_ID"
poll_batch "$BATCH_ID" '.status == "finalizing"'
poll_batch "$BATCH_ID"
assert_path "finalizing completed" "statuses of a slow batch from finalizing on"
# 20 + 40 + 20 ms without the fault: it cannot be done sooner than the 1500 ms it adds.
assert_ge 1500 $((($(date +%s%N) - created) / 1000000)) "ms from create to completed of a slow batch"
stop_mock
note "faults: failed, expired, error lines, online faults, token limit, cancel, slow finalizing"

# --- lists, metadata, files -----------------------------------------------------------------

start_mock --seed "$SEED" "${FAST[@]}"
head -n 3 "$E2E_DIR/input.jsonl" >"$E2E_DIR/small.jsonl"
upload "$E2E_DIR/small.jsonl"
SMALL_FILE=$FILE_ID
CREATED=()
for n in 1 2 3 4 5; do
  create_batch "$SMALL_FILE" "{\"hydrate_run\":\"$RUN\",\"n\":\"$n\"}"
  CREATED+=("$BATCH_ID")
done
api_ok ListBatchesResponse GET "/v1/batches?limit=2"
assert_eq "${CREATED[4]} ${CREATED[3]} true ${CREATED[4]} ${CREATED[3]}" \
  "$(jq -r '"\([.data[].id] | join(" ")) \(.has_more) \(.first_id) \(.last_id)"' <<<"$API_BODY")" "first page: the newest two"
api_ok ListBatchesResponse GET "/v1/batches?limit=2&after=${CREATED[3]}"
assert_eq "${CREATED[2]} ${CREATED[1]} true" "$(jq -r '"\([.data[].id] | join(" ")) \(.has_more)"' <<<"$API_BODY")" "second page"
api_ok ListBatchesResponse GET "/v1/batches?limit=2&after=${CREATED[1]}"
assert_eq "${CREATED[0]} false" "$(jq -r '"\([.data[].id] | join(" ")) \(.has_more)"' <<<"$API_BODY")" "last page"
api_ok ListBatchesResponse GET /v1/batches
assert_eq "5 true" "$(jq -r '"\(.data | length) \([.data[].created_at] | . == (sort | reverse))"' <<<"$API_BODY")" \
  "the default page: all five, newest first"
# A batch created but not recorded, found again through its metadata, a page at a time.
found="" after=""
while [[ -z $found ]]; do
  api_ok ListBatchesResponse GET "/v1/batches?limit=2${after:+&after=$after}"
  found=$(jq -r --arg run "$RUN" '.data[] | select(.metadata.hydrate_run == $run and .metadata.n == "3") | .id' <<<"$API_BODY")
  [[ $(jq -r .has_more <<<"$API_BODY") == true || -n $found ]] || fail "no batch with metadata n=3 in the list"
  after=$(jq -r .last_id <<<"$API_BODY")
done
assert_eq "${CREATED[2]}" "$found" "the batch found by its metadata"
for query in limit=0 limit=101 limit=two; do
  api GET "/v1/batches?$query"
  assert_api_error 400 limit invalid_value "GET /v1/batches?$query"
done
api GET /v1/batches?after=batch_0000
assert_eq 404 "$API_STATUS" "GET /v1/batches with an unknown after"

# output_expires_after sets the output files' expiry.
api_ok Batch POST /v1/batches -H 'Content-Type: application/json' \
  -d "$(batch_body "$SMALL_FILE" | jq -c '.output_expires_after = {anchor: "created_at", seconds: 3600}')"
poll_batch "$(jq -r .id <<<"$API_BODY")"
api_ok OpenAIFile GET "/v1/files/$(bj .output_file_id)"
assert_eq 3600 "$(jq -r '.expires_at - .created_at' <<<"$API_BODY")" "expiry of an output file with output_expires_after"

# A body the chat route refuses is answered as it would be online: its 400 in the error file.
cp "$E2E_DIR/small.jsonl" "$E2E_DIR/with_bad.jsonl"
request_line bad-body '{"model": "gpt-4o-mini", "max_tokens": 10}' >>"$E2E_DIR/with_bad.jsonl"
upload "$E2E_DIR/with_bad.jsonl"
create_batch "$FILE_ID"
poll_batch "$BATCH_ID"
assert_eq "completed 4 3 1" "$(bj '"\(.status) \(.request_counts.total) \(.request_counts.completed) \(.request_counts.failed)"')" \
  "status and counts of a batch with a body that is no chat request"
download "$(bj .error_file_id)" "$E2E_DIR/bad_body.err"
api POST /v1/chat/completions -H 'Content-Type: application/json' -d '{"model": "gpt-4o-mini", "max_tokens": 10}'
assert_eq "bad-body 400 $(jq -c . <<<"$API_BODY") null" \
  "$(jq -r '"\(.custom_id) \(.response.status_code) \(.response.body | tojson) \(.error)"' "$E2E_DIR/bad_body.err")" \
  "the error line of a body without messages: the online route's 400"
assert_eq 1 "$(stats | jq .batches.lines.refused)" "/stats batch lines refused"

api_ok - GET "/v1/files?purpose=batch"
assert_eq "$FILE_ID $SMALL_FILE" "$(jq -r '"\(.data[0].id) \(.data[1].id)"' <<<"$API_BODY")" \
  "batch files listed newest first"
poll_batch "${CREATED[4]}"
OUTPUT_FILE=$(bj .output_file_id)
api_ok DeleteFileResponse DELETE "/v1/files/$SMALL_FILE"
assert_eq "$SMALL_FILE file true" "$(jq -r '"\(.id) \(.object) \(.deleted)"' <<<"$API_BODY")" "DELETE /v1/files/ID"
for route in "GET /v1/files/$SMALL_FILE" "GET /v1/files/$SMALL_FILE/content" "DELETE /v1/files/$SMALL_FILE"; do
  api ${route% *} "${route#* }"
  assert_api_error 404 id null "$route of a deleted file"
done
api_ok Batch GET "/v1/batches/${CREATED[3]}"
poll_batch "${CREATED[3]}"
assert_eq completed "$(bj .status)" "a batch whose input file was deleted"
api_ok DeleteFileResponse DELETE "/v1/files/$OUTPUT_FILE"
api GET "/v1/files/$OUTPUT_FILE/content"
assert_eq 404 "$API_STATUS" "content of a deleted output file"

# --- refusals -------------------------------------------------------------------------------

upload "$E2E_DIR/small.jsonl"
GOOD_FILE=$FILE_ID
printf 'plain text\n' >"$E2E_DIR/notes.txt"
api_ok OpenAIFile POST /v1/files -F purpose=user_data -F "file=@$E2E_DIR/notes.txt"
USER_FILE=$(jq -r .id <<<"$API_BODY")
assert_eq null "$(jq -r .expires_at <<<"$API_BODY")" "expires_at of a user_data file"
create() { api POST /v1/batches -H 'Content-Type: application/json' -d "$1"; }
create "$(batch_body "$GOOD_FILE" | jq -c '.completion_window = "48h"')"
assert_api_error 400 completion_window invalid_value "completion_window 48h"
create "$(batch_body file-doesnotexist000000000000)"
assert_api_error 400 input_file_id invalid_value "an unknown input file"
create "$(batch_body "$USER_FILE")"
assert_api_error 400 input_file_id invalid_value "an input file of purpose user_data"
create "$(batch_body "$GOOD_FILE" | jq -c '.endpoint = "/v1/embeddings"')"
assert_api_error 400 endpoint unsupported_value "endpoint /v1/embeddings"
create "$(batch_body "$GOOD_FILE" | jq -c '.endpoint = "/v2/chat"')"
assert_api_error 400 endpoint invalid_value "endpoint /v2/chat"
create "$(batch_body "$GOOD_FILE" | jq -c 'del(.input_file_id)')"
assert_api_error 400 input_file_id missing_required_parameter "no input_file_id"
create "$(batch_body "$GOOD_FILE" "$(jq -cn '[range(17) | {key: "k\(.)", value: "v"}] | from_entries')")"
assert_api_error 400 metadata object_above_max_properties "17 metadata pairs"
create "$(batch_body "$GOOD_FILE" '{"n": 1}')"
assert_api_error 400 metadata.n invalid_type "a metadata value that is not a string"
create 'not json'
assert_api_error 400 null null "a body that is not JSON"
api POST /v1/files -F purpose=bogus -F "file=@$E2E_DIR/small.jsonl"
assert_api_error 400 purpose invalid_value "upload with purpose bogus"
api POST /v1/files -F purpose=batch -F "file=@$E2E_DIR/notes.txt"
assert_api_error 400 file invalid_file_format "a batch file that is not .jsonl"
api POST /v1/files -F purpose=batch
assert_api_error 400 file missing_required_parameter "upload without a file"
api POST /v1/files -H 'Content-Type: application/json' -d '{}'
assert_api_error 400 null null "upload that is not multipart"
api GET /v1/batches/batch_doesnotexist
assert_api_error 404 batch_id null "an unknown batch"
stop_mock

# Each problem of an input file fails the batch in validation, with the line it is on.
start_mock --seed "$SEED" "${FAST[@]}" --batch-max-requests 5 --batch-max-bytes 20000
body() { jq -c ".[$1]" <(jq -sc '[.[].body | .messages |= [.[0], .[-1]] | del(.response_format)]' "$E2E_DIR/small.jsonl"); }
# fails_with NAME EXPECTED: uploads $E2E_DIR/NAME.jsonl, runs it as a batch, and requires it to
# fail with EXPECTED, its errors.data as "code:line" words.
fails_with() {
  upload "$E2E_DIR/$1.jsonl"
  create_batch "$FILE_ID"
  poll_batch "$BATCH_ID"
  assert_eq "failed $2" "$(bj '"\(.status) \([.errors.data[] | "\(.code):\(.line)"] | join(" "))"')" \
    "status and errors of the batch of $1.jsonl"
}
{ request_line a "$(body 0)"; echo 'this is {not json'; request_line c "$(body 2)"; } >"$E2E_DIR/bad_json.jsonl"
fails_with bad_json "invalid_json_line:2"
{ request_line a "$(body 0)"; request_line b "$(body 1)"; request_line a "$(body 2)"; } >"$E2E_DIR/duplicate.jsonl"
fails_with duplicate "duplicate_custom_id:3"
{ request_line a "$(body 0)" | jq -c '.method = "GET"'; request_line b "$(body 1)" | jq -c '.url = "/v1/embeddings"'; } >"$E2E_DIR/method_url.jsonl"
fails_with method_url "invalid_method:1 invalid_url:2"
{ request_line a "$(body 0)"; request_line b "$(body 1 | jq -c '.model = "gpt-4o"')"; request_line c "$(body 2)" | jq -c 'del(.custom_id)'; } >"$E2E_DIR/model_id.jsonl"
fails_with model_id "mismatched_model:2 missing_required_parameter:3"
for i in 1 2 3 4 5 6; do request_line "r$i" "$(body 0)"; done >"$E2E_DIR/too_many.jsonl"
fails_with too_many "too_many_requests:null"
for i in 1 2 3; do request_line "r$i" "$(body 0 | jq -c --arg pad "$(head -c 9000 /dev/zero | tr '\0' x)" '.messages[0].content += $pad')"; done >"$E2E_DIR/too_big.jsonl"
fails_with too_big "file_too_large:null"
assert_eq 6 "$(stats | jq .batches.byStatus.failed)" "/stats failed batches"
stop_mock

# The API key guards these routes as every /v1 route; other flavors have no Batch API.
start_mock --seed "$SEED" "${FAST[@]}" --api-key sk-batch-test-key
for route in "GET /v1/batches" "GET /v1/files" "POST /v1/batches" "POST /v1/files"; do
  api ${route% *} "${route#* }"
  assert_eq 401 "$API_STATUS" "$route without the key"
done
AUTH=(-H "Authorization: Bearer sk-batch-test-key")
api_ok ListBatchesResponse GET /v1/batches
AUTH=()
stop_mock
start_mock --flavor llamacpp
api GET /v1/batches
assert_eq 404 "$API_STATUS" "GET /v1/batches under --flavor llamacpp"
stop_mock

# --- every object against batch-api.yaml ----------------------------------------------------

python3 "$HYDRATE_SOURCE_DIR/tests/tools/batch_spec_check.py" "$SPEC" <"$OBJECTS" \
  >"$E2E_DIR/check.out" 2>"$E2E_DIR/check.err" || {
  cat "$E2E_DIR/check.err" >&2
  fail "objects invalid against $SPEC"
}
cat "$E2E_DIR/check.out"
assert_contains "$(cat "$E2E_DIR/check.out")" "Batch" "the check's summary"
note "every File and Batch object is valid against batch-api.yaml"
