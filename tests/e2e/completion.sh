#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The bash completion `hydrate completion bash` prints, driven as bash drives it (COMP_WORDS,
# COMP_CWORD, then _hydrate; COMPREPLY is what the user is offered), in a fresh bash per case:
# command prefixes, a command's options, global options before and after the command, the values
# of an option with a fixed set, a free value, a positional's values. Then, generically, every
# command and every option each --help lists is among the completion words, and the file the build
# installs is exactly what the binary prints.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/options.bash"
e2e_init completion

SCRIPT=$E2E_DIR/hydrate.bash
run "$HYDRATE_BIN" completion bash
[[ $RUN_RC == 0 ]] || fail "hydrate completion bash exited with $RUN_RC: $RUN_ERR"
printf '%s\n' "$RUN_OUT" >"$SCRIPT"
bash -n "$SCRIPT" || fail "the completion script is not valid bash"
for shell in zsh ""; do  # another shell, or none: a usage error
  run "$HYDRATE_BIN" completion ${shell:+"$shell"}
  assert_eq "2 0" "$RUN_RC ${#RUN_OUT}" "exit status and stdout length of 'hydrate completion $shell'"
  assert_contains "$RUN_ERR" "hydrate: error: shell" "stderr of 'hydrate completion $shell'"
done

# offered WORD…: COMPREPLY, sorted and space-separated, for the command line `hydrate WORD…` with
# the cursor at the end of the last WORD (give "" for a new word). Runs in a fresh bash with the
# options of an interactive shell; OFFERED_OPTIONS (e.g. "set -eu") runs first.
offered() {
  bash --noprofile --norc -c '
    '"${OFFERED_OPTIONS:-}"'
    source "$0"
    [[ $(complete -p hydrate) == *"-F _hydrate hydrate" ]] || { echo "not registered" >&2; exit 1; }
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    _hydrate
    printf "%s\n" "${COMPREPLY[@]}"' "$SCRIPT" hydrate "$@" | sort | paste -sd ' '
}

# expect_offered "EXPECTED" WORD…: exactly EXPECTED (sorted, space-separated) is offered.
expect_offered() {
  local expected=$1 got
  shift
  got=$(offered "$@") || fail "completing 'hydrate $*' failed"
  assert_eq "$expected" "$got" "completion of 'hydrate $*'"
}

# --- cases ----------------------------------------------------------------------------------
expect_offered "export" ex
expect_offered "submit" sub
expect_offered "reconcile report requeue" re
expect_offered "--format" export --f
expect_offered "json markdown" export --format ""
expect_offered "markdown" export --format = m          # --format=m: bash splits at '='
expect_offered "json markdown" export 01JABCDEFGHJKMNPQRSTVWXYZ0 --format ""
expect_offered "--quiet" --qu                          # a global flag
expect_offered "--quiet" work --qu                     # a global flag after the command
expect_offered "--progress" work --until-idle --pro    # a command's flag
expect_offered "status" --db sqlite:x.db sta          # a global option's value is skipped
expect_offered "status" --config status sta           # even when it looks like a command
expect_offered "" work --concurrency ""                # a free value: the shell's file names
expect_offered "" status --f                           # export's --format is not status's
expect_offered "bash" completion ""                    # a positional with a fixed set
expect_offered "--no-notes --no-questions" submit --no-
OFFERED_OPTIONS="set -euo pipefail" expect_offered "--format" export --f  # strict shells too
note "the documented cases complete as expected"

# --- every command and option of --help is offered --------------------------------------------
run "$HYDRATE_BIN" --help
TOP_HELP=$RUN_OUT
mapfile -t COMMANDS < <(help_subcommands "$TOP_HELP")
assert_ge 11 "${#COMMANDS[@]}" "commands listed by hydrate --help"
TOP_WORDS=" $(offered "") "
GLOBAL_OPTIONS=" $(offered -) "
MISSING=()
for command in "${COMMANDS[@]}"; do
  [[ $TOP_WORDS == *" $command "* ]] || MISSING+=("command $command")
done
mapfile -t GLOBALS < <(help_options "$TOP_HELP")
for option in "${GLOBALS[@]}"; do
  [[ $GLOBAL_OPTIONS == *" $option "* ]] || MISSING+=("global option $option")
done
CHECKED=${#GLOBALS[@]}
CHOICES=0
# check_choices HELP_TEXT [COMMAND]: each option of HELP_TEXT with a fixed set of values offers
# exactly that set (after COMMAND, or after hydrate itself).
check_choices() {
  local help=$1 names values option got
  shift
  while read -r names values; do
    for option in ${names//,/ }; do
      got=$(offered "$@" "$option" "")
      [[ $got == "$values" ]] || MISSING+=("${*:-hydrate} $option values '$values' (offered '$got')")
      CHOICES=$((CHOICES + 1))
    done
  done < <(help_choices "$help")
}
check_choices "$TOP_HELP"
for command in "${COMMANDS[@]}"; do
  run "$HYDRATE_BIN" "$command" --help
  words=" $(offered "$command" -) "
  mapfile -t options < <(help_options "$RUN_OUT")
  for option in "${options[@]}" "${GLOBALS[@]}"; do
    [[ $words == *" $option "* ]] || MISSING+=("$command $option")
  done
  CHECKED=$((CHECKED + ${#options[@]}))
  check_choices "$RUN_OUT" "$command"
  check_choices "$TOP_HELP" "$command"  # global options keep their values after the command
done
assert_ge 70 "$CHECKED" "options read from the --help texts"
assert_ge 1 "$CHOICES" "options with a fixed set of values (export --format at least)"
((${#MISSING[@]} == 0)) || fail "not offered by the completion: ${MISSING[*]}"
note "${#COMMANDS[@]} commands, $CHECKED options and the values of $CHOICES are all offered"

# --- the installed file is the binary's output --------------------------------------------------
BUILT=${HYDRATE_BUILD_DIR:?run through ctest}/completion/hydrate
[[ -f $BUILT ]] || fail "the build did not produce $BUILT"
"$HYDRATE_BIN" completion bash | cmp - "$BUILT" ||
  fail "$BUILT differs from 'hydrate completion bash': the build did not regenerate it"
note "the installed completion is the binary's output"
