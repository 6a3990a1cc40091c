#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Hostile operator input on PostgreSQL (see lib/hostile_input.bash), then the database made
# read-only: reads work, every write is refused with one line and nothing changes.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/hostile_input.bash"
e2e_init postgres_hostile_input
pg_init

# pg_dump's \restrict lines carry a random key: everything else is the data.
db_fingerprint() { pg_dump --data-only --no-owner "$PG_URL" | grep -Ev '^\\(un)?restrict ' | sha256sum; }

start_mock
submit_small
work_until_idle --max-steps 3
hostile_input_scenario

BEFORE=$(db_fingerprint)
DB_NAME=${PG_URL##*/}
psql_server -c "ALTER DATABASE $DB_NAME SET default_transaction_read_only = on" >/dev/null
hy --json status "$ROOT"
hy export "$ROOT" --format markdown
for args in "submit --language en --board CBSE --grade 2 --subject ART" "cancel $ROOT" \
  "requeue $ROOT" "work --until-idle" "reconcile"; do
  # shellcheck disable=SC2086  # word splitting of the argument list is intended
  refuse 1 "read-only" $args
done
psql_server -c "ALTER DATABASE $DB_NAME SET default_transaction_read_only = off" >/dev/null
assert_eq "$BEFORE" "$(db_fingerprint)" "the database after the refused writes"
