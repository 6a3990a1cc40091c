# shellcheck shell=bash
# Hostile operator input, run by hostile_input.sh (SQLite) and postgres_hostile_input.sh against
# the backend their sql() and db_fingerprint() speak to. Requires a database holding one tree.
#
# Every subcommand given missing, malformed, out-of-range or absurd values exits with its
# documented code and one `hydrate: error:` line naming the problem, and the database's content
# is exactly what it was. Text that is merely unusual (quotes, SQL) is data, stored as given.

# refuse CODE NAMING cmd…: hydrate exits CODE, with one stderr line that contains NAMING.
refuse() {
  local code=$1 naming=$2
  shift 2
  run "$HYDRATE_BIN" "$@"
  local shown="$*"
  ((RUN_RC == code)) || fail "hydrate ${shown:0:200} exited $RUN_RC, expected $code: ${RUN_ERR:0:300}"
  [[ $RUN_ERR =~ ^hydrate:\ error:\ [^$'\n']+$ ]] ||
    fail "hydrate ${shown:0:200}: stderr is not one error line: '${RUN_ERR:0:300}'"
  assert_contains "$RUN_ERR" "$naming" "the error of hydrate ${shown:0:120}"
  ((${#RUN_ERR} <= 400)) || fail "hydrate ${shown:0:120}: a ${#RUN_ERR}-byte error line"
}

hostile_input_scenario() {
  local slot=(--language en --board CBSE --grade 1 --subject MATH)
  local before
  before=$(db_fingerprint)
  local huge
  huge=$(head -c 120000 /dev/zero | tr '\0' 'x')  # near the kernel's limit for one argument

  # Counts, budgets and priorities out of range, negative, absurd or not numbers at all.
  refuse 2 "--chapters" submit "${slot[@]}" --chapters -1
  refuse 2 "--chapters" submit "${slot[@]}" --chapters 1000000000000
  refuse 2 "--topics-per-chapter" submit "${slot[@]}" --topics-per-chapter 0
  refuse 2 "--questions-per-topic" estimate "${slot[@]}" --questions-per-topic -5
  refuse 2 "--chapters" estimate "${slot[@]}" --chapters twelve
  refuse 2 "--max-cost" submit "${slot[@]}" --max-cost -1
  refuse 2 "--max-cost" submit "${slot[@]}" --max-cost nan
  refuse 2 "--max-cost" estimate "${slot[@]}" --max-cost 1e308
  refuse 2 "--priority" submit "${slot[@]}" --priority 99999
  # Slot text: absurd sizes, control characters, a grade of 10^9.
  refuse 2 "--grade 1000000000" submit --language en --board CBSE --grade 1000000000 --subject MATH
  refuse 2 "--subject is 120000 bytes" submit --language en --board CBSE --grade 1 --subject "$huge"
  refuse 2 "--board is 120000 bytes" estimate --language en --board "$huge" --grade 1 --subject MATH
  refuse 2 "--subject contains a control character" submit "${slot[@]:0:6}" --subject $'MA\x01TH'
  refuse 2 "--language must not be empty" submit --language ' ' --board CBSE --grade 1 --subject MATH
  refuse 2 "--reason is 120000 bytes" cancel "$ROOT" --reason "$huge"
  # Workers and reconcile: limits that would make them useless or harmful.
  refuse 2 "--concurrency" work --concurrency 0
  refuse 2 "--concurrency" work --concurrency 100000000
  refuse 2 "--lease-seconds" work --lease-seconds -5
  refuse 2 "--rpm" work --rpm -1
  refuse 2 "--max-steps" work --max-steps -1
  refuse 2 "--stuck-minutes" reconcile --stuck-minutes -1
  refuse 2 "--lock-seconds" reconcile --lock-seconds 0
  refuse 2 "--limit" status --limit -3
  refuse 2 "--interval" status --watch --interval 0
  HYDRATE_CONCURRENCY=lots refuse 2 "HYDRATE_CONCURRENCY" work --until-idle
  HYDRATE_LLM_TIMEOUT_MS=-1 refuse 2 "HYDRATE_LLM_TIMEOUT_MS" work --until-idle
  # Ids: SQL quotes, absurd lengths, the empty string.
  refuse 2 "not a job id" status "x' OR '1'='1"
  refuse 2 "not a job id" cancel "'; DROP TABLE jobs; --"
  refuse 2 "not a job id" export "$huge"
  refuse 2 "requeue needs a JOB" requeue ""
  refuse 2 "--max-cost" requeue "$ROOT" --max-cost -2
  refuse 2 "--max-cost needs a root" requeue --failed --max-cost 5
  # Files: an export to a directory that does not exist, a config file that is not one.
  refuse 1 "/nonexistent/dir/tree.json" export "$ROOT" -o /nonexistent/dir/tree.json
  refuse 2 "$E2E_DIR" --config "$E2E_DIR" status
  refuse 2 "no-such.conf" --config "$E2E_DIR/no-such.conf" status
  refuse 2 "--db" --db "" status
  refuse 2 "ftp" --db "ftp://example.com/hydrate" status

  assert_eq "$before" "$(db_fingerprint)" "the database after every refused command"

  # Quotes and SQL in text are data: stored as given, harming nothing.
  local sneaky="Children's Math'); DROP TABLE jobs; --"
  hy --json submit --language en --board CBSE --grade 1 --subject "$sneaky" --chapters 1 \
    --topics-per-chapter 1 --questions-per-topic 1
  local sneaky_root
  sneaky_root=$(jq -er .rootJobId <<<"$RUN_OUT")
  status_json "$sneaky_root"
  assert_eq "$sneaky" "$(jqs .slot.subject)" "a subject with quotes and SQL, as stored"
  assert_ge 2 "$(sql_count "SELECT count(*) FROM jobs")" "jobs (the table survived)"
}
