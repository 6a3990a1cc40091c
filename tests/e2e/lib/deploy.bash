# shellcheck shell=bash
# Shared helpers of the deploy_*.sh tests, which check the artefacts under deploy/ (and the
# runbook) with the real tools that consume them. Sourced after lib/common.bash and e2e_init.
#
# A missing tool skips the test (exit 77), which scripts/test turns into a failure in CI; it
# never lets a check pass without running.

DEPLOY_ROOT=${HYDRATE_SOURCE_DIR:-$(cd "$E2E_LIB/../../.." && pwd)}
DEPLOY_DIR=$DEPLOY_ROOT/deploy

# tool_or_skip TOOL [PACKAGE]: skips the test when TOOL is not on the PATH.
tool_or_skip() {
  command -v "$1" >/dev/null 2>&1 || skip "the tool '$1' is missing (apt-get install ${2:-$1}, or scripts/setup)"
}

# expect_rejected WHAT cmd…: cmd must exit non-zero — the check itself is shown to catch a broken
# artefact, so that a checker that accepts everything fails the test instead of passing it.
expect_rejected() {
  local what=$1
  shift
  if "$@" >"$E2E_DIR/rejected.out" 2>&1; then
    fail "the check accepted $what: $* ($(head -c 400 "$E2E_DIR/rejected.out"))"
  fi
  note "rejected as it should: $what ($({ grep -m1 -E 'alertname|[Ee]rror|FAIL|[Ii]nvalid|[Uu]nknown' "$E2E_DIR/rejected.out" || tail -n 1 "$E2E_DIR/rejected.out"; } | sed 's/^ *//' | cut -c1-200))"
}

# hydrate_metric_families: every family name `hydrate metrics` announces (# TYPE lines) on a
# fresh migrated database, one a line.
hydrate_metric_families() {
  hy --db "sqlite:$E2E_DIR/families.db" migrate
  hy --db "sqlite:$E2E_DIR/families.db" metrics
  awk '$1 == "#" && $2 == "TYPE" { print $3 }' <<<"$RUN_OUT" | sort -u
}
