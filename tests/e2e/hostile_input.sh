#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Hostile operator input on SQLite (see lib/hostile_input.bash), then the database made
# unreadable and read-only: every command is refused with one line and nothing changes.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/hostile_input.bash"
e2e_init hostile_input

db_fingerprint() { sqlite3 -batch -bail -cmd ".timeout 10000" "$E2E_DB" .dump | sha256sum; }

start_mock
submit_small
work_until_idle --max-steps 3
hostile_input_scenario

# A directory where the database file should be: refused, nothing created in it.
mkdir "$E2E_DIR/a-directory.db"
refuse 1 "a-directory.db" --db "sqlite:$E2E_DIR/a-directory.db" status
assert_eq "" "$(ls -A "$E2E_DIR/a-directory.db")" "files created in the directory"
# estimate, the CI budget gate, still answers: on the defaults, saying why in one warning.
hy --db "sqlite:$E2E_DIR/a-directory.db" --json estimate --language en --board CBSE --grade 1 \
  --subject MATH
assert_eq defaults "$(jq -r .estimates.basis <<<"$RUN_OUT")" "basis of an estimate without a readable database"
assert_contains "$RUN_ERR" "warning: estimating on defaults" "the warning of that estimate"
assert_eq 1 "$(grep -c . <<<"$RUN_ERR")" "lines on stderr of that estimate"

# A read-only database (immutable, so that even root cannot write it): reads work, every write
# is refused with one line naming the problem, and the file is unchanged.
hy --json status "$ROOT"
hy --json migrate
sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
BEFORE=$(sha256sum <"$E2E_DB")
chattr +i "$E2E_DB" || fail "chattr +i is not supported here; the read-only case cannot run"
at_exit 'chattr -i "$E2E_DB" 2>/dev/null'  # also when a check below fails
hy --json status "$ROOT"
hy export "$ROOT" --format markdown
for args in "submit --language en --board CBSE --grade 2 --subject ART" "cancel $ROOT" \
  "requeue $ROOT" "work --until-idle" "reconcile"; do
  # shellcheck disable=SC2086  # word splitting of the argument list is intended
  refuse 1 "read" $args
done
chattr -i "$E2E_DB"
assert_eq "$BEFORE" "$(sha256sum <"$E2E_DB")" "checksum of the read-only database after the writes"
