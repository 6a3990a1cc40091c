#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# hydrate metrics --output FILE writes the exposition atomically (FILE.tmp.PID, then rename: a
# new inode each time, never a partial file) and names the path when it cannot (exit 1).
# --every repeats it: the file follows the database; a failed read is logged and retried the
# next round with the file left as it was; SIGTERM and SIGINT end the loop with exit 0.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init metrics_output

hy migrate
OUT=$E2E_DIR/textfile/hydrate.prom
mkdir -p "$E2E_DIR/textfile"
FAMILIES=$(grep -vc '^#' "$HYDRATE_SOURCE_DIR/tests/e2e/expected_metrics.txt")

note "once: the file holds every family, stdout nothing, no temporary file is left"
hy metrics --output "$OUT"
assert_empty "$RUN_OUT" "stdout of metrics --output"
[[ -f $OUT ]] || fail "metrics --output wrote no $OUT"
assert_eq "$FAMILIES" "$(grep -c '^# TYPE ' "$OUT")" "families in the file"
assert_eq 'hydrate_jobs{kind="subject",status="pending"} 0' "$(grep '^hydrate_jobs{kind="subject",status="pending"}' "$OUT")" \
  "pending subjects before any submit"
assert_empty "$(find "$E2E_DIR/textfile" -name '*.tmp.*')" "temporary files left"

note "a path that cannot be written: exit 1 naming it; usage errors: exit 2"
run "$HYDRATE_BIN" metrics --output "$E2E_DIR/no-such-dir/hydrate.prom"
assert_eq 1 "$RUN_RC" "exit status for an unwritable --output"
assert_contains "$RUN_ERR" "$E2E_DIR/no-such-dir/hydrate.prom" "the error"
run "$HYDRATE_BIN" metrics --every 1s
assert_eq 2 "$RUN_RC" "exit status of --every without --output"
run "$HYDRATE_BIN" metrics --output "$OUT" --every soon
assert_eq 2 "$RUN_RC" "exit status of --every with no duration"
assert_contains "$RUN_ERR" "--every" "the error"

inode() { stat -c %i "$OUT" 2>/dev/null || echo none; }
inode_changed() { [[ $(inode) != "$1" ]]; }
file_has() { grep -qxF "$1" "$OUT"; }
warnings() { grep -c 'reading metrics failed' "$E2E_DIR/$1.err" || true; }
at_least_warnings() { (($(warnings "$1") >= $2)); }

note "--every: the file follows the database, replaced whole each round"
spawn LOOP metrics-loop "$HYDRATE_BIN" metrics --output "$OUT" --every 100ms
FIRST=$(inode)
wait_until 60 "the loop to replace the file" inode_changed "$FIRST"
run "$HYDRATE_BIN" submit --language en --board CBSE --grade 1 --subject MATH --chapters 2 \
  --topics-per-chapter 1 --questions-per-topic 2
wait_until 60 "the file to count the submitted subject" \
  file_has 'hydrate_jobs{kind="subject",status="pending"} 1'
# Every read sees a whole exposition: the rename replaces the file in one step.
for ((i = 0; i < 50; i++)); do
  SNAPSHOT=$(cat "$OUT")
  assert_eq "$FAMILIES" "$(grep -c '^# TYPE ' <<<"$SNAPSHOT")" "families in a read during the loop"
  [[ $SNAPSHOT == *"hydrate_transient_retries_total counter"* ]] || fail "a read saw a cut file"
done

note "a failed read is logged and retried; the file stays as it was"
sql "ALTER TABLE metrics RENAME TO metrics_away"
wait_until 60 "a failed read to be logged" at_least_warnings metrics-loop 1
KEPT_INODE=$(inode)
KEPT=$(cat "$OUT")
wait_until 60 "a second failed round" at_least_warnings metrics-loop 2
assert_eq "$KEPT_INODE" "$(inode)" "inode of the file while reads fail"
assert_eq "$KEPT" "$(cat "$OUT")" "content of the file while reads fail"
process_alive "$LOOP" || fail "the loop ended on a failed read"
sql "ALTER TABLE metrics_away RENAME TO metrics"
wait_until 60 "the loop to write again once reads succeed" inode_changed "$KEPT_INODE"

note "SIGTERM ends the loop with exit 0, and no temporary file is left"
stop_gracefully "$LOOP"
assert_eq 0 "$REAP_RC" "exit status of the loop on SIGTERM"
assert_empty "$(find "$E2E_DIR/textfile" -name '*.tmp.*')" "temporary files left"
assert_eq "$FAMILIES" "$(grep -c '^# TYPE ' "$OUT")" "families in the last file"

note "SIGINT too"
rm "$OUT"
spawn LOOP metrics-loop-2 "$HYDRATE_BIN" metrics --output "$OUT" --every 1h
wait_until 60 "the first write of the second loop" test -f "$OUT"
wait_until 30 "the loop to handle SIGINT" handles_signal "$LOOP" 2
kill -INT "$LOOP"
reap "$LOOP" 60
assert_eq 0 "$REAP_RC" "exit status of the loop on SIGINT (within an hour-long wait)"

note "a database that does not exist yet: logged each round until it does"
LATE_DB=$E2E_DIR/late.db
LATE_OUT=$E2E_DIR/textfile/late.prom
HYDRATE_DB="sqlite:$LATE_DB" spawn LOOP metrics-loop-3 "$HYDRATE_BIN" metrics --output "$LATE_OUT" --every 100ms
wait_until 60 "a failed round to be logged" at_least_warnings metrics-loop-3 2
[[ ! -e $LATE_OUT ]] || fail "a file was written with no database to read"
[[ ! -e $LATE_DB ]] || fail "the metrics loop created the database"
HYDRATE_DB="sqlite:$LATE_DB" hy migrate
wait_until 60 "the file once the database exists" test -f "$LATE_OUT"
stop_gracefully "$LOOP"
assert_eq 0 "$REAP_RC" "exit status of the loop on SIGTERM"
assert_eq "$FAMILIES" "$(grep -c '^# TYPE ' "$LATE_OUT")" "families in the late file"
