#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The --help of the built binaries and the man pages document the same options, both ways: for
# hydrate's global options (man/hydrate.1, GLOBAL OPTIONS), for every command `hydrate --help`
# lists (man/hydrate-COMMAND.1, OPTIONS; -h,--help is documented once, in hydrate.1), and for
# hydrate-mock-llm. Commands are discovered from --help, so a command added later is checked too.
# Every command also has its entry in hydrate.1's COMMANDS and SEE ALSO.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/options.bash"
e2e_init help_man_agree
MAN=${HYDRATE_SOURCE_DIR:?run through ctest}/man
PROBLEMS=()

# compare WHAT PAGE SECTION HELP_TEXT [IGNORED…]: the options of HELP_TEXT and those of PAGE's
# SECTION, minus IGNORED, must be the same set; each difference is recorded by name.
compare() {
  local what=$1 page=$2 section=$3 help=$4 name
  shift 4
  local ignored=" $* "
  local -A in_help=() in_page=()
  while read -r name; do [[ -n $name && $ignored != *" $name "* ]] && in_help[$name]=1; done \
    < <(help_options "$help")
  while read -r name; do [[ -n $name && $ignored != *" $name "* ]] && in_page[$name]=1; done \
    < <(man_options "$page" "$section")
  for name in "${!in_help[@]}"; do
    [[ -n ${in_page[$name]:-} ]] ||
      PROBLEMS+=("$what: $name is in --help but not in ${page##*/} ($section)")
  done
  for name in "${!in_page[@]}"; do
    [[ -n ${in_help[$name]:-} ]] ||
      PROBLEMS+=("$what: $name is in ${page##*/} ($section) but not in --help")
  done
  CHECKED=$((CHECKED + ${#in_help[@]}))
}

CHECKED=0
run "$HYDRATE_BIN" --help
[[ $RUN_RC == 0 ]] || fail "hydrate --help exited with $RUN_RC"
TOP_HELP=$RUN_OUT
compare "hydrate (global options)" "$MAN/hydrate.1" "GLOBAL OPTIONS" "$TOP_HELP"

mapfile -t COMMANDS < <(help_subcommands "$TOP_HELP")
assert_ge 10 "${#COMMANDS[@]}" "commands listed by hydrate --help"
COMMAND_TAGS=$(man_tags "$MAN/hydrate.1" COMMANDS)
for command in "${COMMANDS[@]}"; do
  page=$MAN/hydrate-$command.1
  if [[ ! -f $page ]]; then
    PROBLEMS+=("hydrate $command: no man page man/hydrate-$command.1")
    continue
  fi
  grep -qx ".B $command" <<<"$COMMAND_TAGS" ||
    PROBLEMS+=("hydrate $command: no entry in hydrate.1's COMMANDS")
  grep -qxF -e ".BR hydrate\\-${command//-/\\-} (1)," -e ".BR hydrate\\-${command//-/\\-} (1)" \
    "$MAN/hydrate.1" ||
    PROBLEMS+=("hydrate $command: not in hydrate.1's SEE ALSO")
  run "$HYDRATE_BIN" "$command" --help
  [[ $RUN_RC == 0 ]] || fail "hydrate $command --help exited with $RUN_RC"
  compare "hydrate $command" "$page" OPTIONS "$RUN_OUT" -h --help
done

run "$MOCK_LLM_BIN" --help
[[ $RUN_RC == 0 ]] || fail "hydrate-mock-llm --help exited with $RUN_RC"
compare "hydrate-mock-llm" "$MAN/hydrate-mock-llm.1" OPTIONS "$RUN_OUT" -h --help

# The parsers found what they should: every command's options, not an empty list compared with
# an empty list.
assert_ge 60 "$CHECKED" "options read from the --help texts"
if ((${#PROBLEMS[@]} > 0)); then
  printf '%s\n' "${PROBLEMS[@]}" >&2
  fail "${#PROBLEMS[@]} disagreement(s) between --help and the man pages (listed above)"
fi
note "${#COMMANDS[@]} commands and $CHECKED options: --help and the man pages agree"
