# shellcheck shell=bash
# PostgreSQL variant of the end-to-end helpers: source after lib/common.bash and call
# `pg_init` after `e2e_init`. The test then runs against a database of its own on the server
# HYDRATE_TEST_PG names (scripts/test starts a throwaway one), dropped when the test ends;
# `sql` and `sql_count` query it with psql. Without HYDRATE_TEST_PG the test is skipped, which
# scripts/test turns into a failure in CI.

pg_init() {
  [[ -n ${HYDRATE_TEST_PG:-} ]] || skip "HYDRATE_TEST_PG is not set (scripts/test starts a PostgreSQL server)"
  need_tool psql postgresql-client
  PG_SERVER_URL=$HYDRATE_TEST_PG
  PG_DATABASE="e2e_${E2E_NAME}_$$"
  psql_server -c "CREATE DATABASE $PG_DATABASE" >/dev/null || fail "cannot create database $PG_DATABASE"
  PG_URL="${PG_SERVER_URL%/*}/$PG_DATABASE"
  export HYDRATE_DB=$PG_URL
  # Drop the database, then run the common clean-up with the test's own exit status.
  trap '_pg_rc=$?; set +e; trap - ERR; pg_drop; (exit "$_pg_rc"); _e2e_cleanup' EXIT
  note "database $PG_URL"
}

psql_server() { psql -X -q -v ON_ERROR_STOP=1 "$PG_SERVER_URL" "$@"; }

pg_drop() {
  psql_server -c "DROP DATABASE IF EXISTS $PG_DATABASE WITH (FORCE)" >/dev/null 2>&1 || true
}

# sql QUERY: one query against this test's database, rows as a|b|c lines like sqlite3 prints.
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"; }

# pg_assert_tree_exactly_once ROOT: the root succeeded with every level complete; every step
# succeeded exactly once: one job per (parent, kind, position), content rows only from succeeded
# jobs and none missing, one used model call per step; the export holds what status counts.
pg_assert_tree_exactly_once() {
  local root=$1 rows
  status_json "$root"
  assert_eq succeeded "$(jqs .status)" "status of root $root"
  local level
  for level in chapters topics notes questions; do
    assert_eq "$(jqs ".progress.levels.$level.expected")" "$(jqs ".progress.levels.$level.completed")" \
      "completed vs expected $level"
  done
  assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$root' AND status <> 'succeeded'")" \
    "steps of $root that did not succeed"
  rows=$(sql "SELECT parent_id, kind, position FROM jobs WHERE root_id = '$root' AND parent_id IS NOT NULL
              GROUP BY parent_id, kind, position HAVING count(*) > 1")
  assert_empty "$rows" "jobs created twice for one (parent, kind, position)"
  rows=$(sql "SELECT 'chapters', c.job_id FROM chapters c LEFT JOIN jobs j ON j.id = c.job_id WHERE j.status IS DISTINCT FROM 'succeeded'
              UNION ALL SELECT 'topics', t.job_id FROM topics t LEFT JOIN jobs j ON j.id = t.job_id WHERE j.status IS DISTINCT FROM 'succeeded'
              UNION ALL SELECT 'notes', n.job_id FROM notes n LEFT JOIN jobs j ON j.id = n.job_id WHERE j.status IS DISTINCT FROM 'succeeded'
              UNION ALL SELECT 'questions', q.job_id FROM questions q LEFT JOIN jobs j ON j.id = q.job_id WHERE j.status IS DISTINCT FROM 'succeeded'")
  assert_empty "$rows" "content written by a job that did not succeed"
  rows=$(sql "SELECT j.kind, j.id FROM jobs j WHERE j.root_id = '$root' AND (
                (j.kind = 'subject' AND NOT EXISTS (SELECT 1 FROM chapters c WHERE c.job_id = j.id)) OR
                (j.kind = 'chapter' AND NOT EXISTS (SELECT 1 FROM topics t WHERE t.job_id = j.id)) OR
                (j.kind = 'note' AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.job_id = j.id)) OR
                (j.kind = 'questions' AND NOT EXISTS (SELECT 1 FROM questions q WHERE q.job_id = j.id)))")
  assert_empty "$rows" "succeeded steps without their content"
  rows=$(sql "SELECT j.id, count(c.id) FROM jobs j LEFT JOIN llm_calls c ON c.job_id = j.id AND c.used = 1
              WHERE j.root_id = '$root' GROUP BY j.id HAVING count(c.id) <> 1")
  assert_empty "$rows" "steps whose answer was used other than exactly once (job, uses)"
  rows=$(sql "SELECT 'topics', count(*) FROM topics t WHERE t.root_id = '$root' AND
                (SELECT count(*) FROM jobs k WHERE k.parent_id = t.job_id AND k.position = t.position) <> 2")
  assert_eq "topics|0" "$rows" "topics without exactly one note job and one questions job"
  hy export "$root" --format json
  local counts
  counts=$(jq -r '[(.chapters | length), ([.chapters[].topics[]] | length),
                   ([.chapters[].topics[].note | select(. != null)] | length),
                   ([.chapters[].topics[].questions[]] | length)] | join(" ")' <<<"$RUN_OUT")
  assert_eq "$(jqs '[.progress.levels | .chapters, .topics, .notes, .questions | .completed] | join(" ")')" \
    "$counts" "chapters, topics, notes, questions: status vs the export"
  assert_eq "$(sql "SELECT (SELECT count(*) FROM chapters WHERE root_id = '$root') || ' ' ||
                           (SELECT count(*) FROM topics WHERE root_id = '$root') || ' ' ||
                           (SELECT count(*) FROM notes WHERE root_id = '$root') || ' ' ||
                           (SELECT count(*) FROM questions WHERE root_id = '$root')")" \
    "$counts" "chapters, topics, notes, questions: content tables vs the export"
}
