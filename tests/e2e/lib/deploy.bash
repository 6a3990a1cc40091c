# shellcheck shell=bash disable=SC2034  # DEPLOY_DIR is read by the tests
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

# hydrate_flags_accepted WHERE WORD…: WORD… is a hydrate command line without the binary (global
# options, the subcommand, its options). Fails unless the subcommand exists and every --flag is
# one that `hydrate SUBCOMMAND --help` or `hydrate --help` (the global options) lists.
declare -A DEPLOY_HELP=()
_help_of() {
  if [[ -z ${DEPLOY_HELP[$1]+set} ]]; then
    local args=(--help)
    [[ $1 == - ]] || args=("$1" --help)
    run "$HYDRATE_BIN" "${args[@]}"
    ((RUN_RC == 0)) || fail "hydrate ${args[*]} exited with $RUN_RC: $RUN_ERR"
    DEPLOY_HELP[$1]=$RUN_OUT
  fi
  printf '%s\n' "${DEPLOY_HELP[$1]}"
}
# _lists_flag HELP FLAG: HELP has an option line naming FLAG ("  -q,--quiet", "  --db TEXT").
_lists_flag() { grep -Eq -e "^ +([-a-zA-Z0-9,]*,)?$2( |$|,|\{)" <<<"$1"; }
hydrate_flags_accepted() {
  local where=$1 global subcommand="" word
  shift
  global=$(_help_of -)
  local words=("$@") i
  for ((i = 0; i < ${#words[@]}; i++)); do
    word=${words[$i]}
    [[ $word == -* ]] || break
    _lists_flag "$global" "${word%%=*}" || fail "$where: '$word' is not a global option of hydrate"
    # A global option listed with a type (--db TEXT) takes the next word as its value.
    if [[ $word != *=* ]] && grep -Eq -e "^ +${word}( [A-Z]+)" <<<"$global"; then i=$((i + 1)); fi
  done
  subcommand=${words[$i]:-}
  [[ -n $subcommand ]] || fail "$where: no subcommand in: hydrate $*"
  grep -Eq -e "^  $subcommand( |$)" <<<"$global" || fail "$where: 'hydrate $subcommand' is not a subcommand"
  local help
  help=$(_help_of "$subcommand")
  for word in "${words[@]:i+1}"; do
    [[ $word == -* ]] || continue
    _lists_flag "$help" "${word%%=*}" || _lists_flag "$global" "${word%%=*}" ||
      fail "$where: 'hydrate $subcommand' does not accept '$word' (see hydrate $subcommand --help)"
  done
}

# hydrate_subcommands: the subcommands `hydrate --help` lists, one a line.
hydrate_subcommands() { _help_of - | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ { print $1 }'; }
