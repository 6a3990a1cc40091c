# shellcheck shell=bash disable=SC2034
# Shared by the flavor_*.sh tests: one small tree against the local endpoint playing one server
# flavor (hydrate-mock-llm --flavor), end to end. Sourced after common.bash.

FLAVOR_TREE=(--chapters 2 --topics-per-chapter 2 --questions-per-topic 2)

# flavor_tree [submit flags…]: submits one small tree, runs one worker until idle, and requires
# the tree to have succeeded; sets ROOT.
flavor_tree() {
  hy --json submit --language en --board CBSE --grade 4 --subject SCIENCE "${FLAVOR_TREE[@]}" "$@"
  ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
  work_until_idle --concurrency 4
  assert_tree_succeeded "$ROOT"
  assert_no_duplicate_content
}

# assert_no_refused_calls: no call of the database was answered 4xx (the request fitted the
# server), and none was cut off or rejected.
assert_no_refused_calls() {
  assert_empty "$(sql "SELECT http_status, error FROM llm_calls WHERE used = 0 LIMIT 5")" \
    "calls not used (status, error)"
}
