#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# deploy/cron/hydrate is an /etc/cron.d file: each entry has five valid time fields, a user and a
# command; variable lines are NAME=value; the command is one the real binary accepts, and runs:
# against a fresh SQLite database with the example config it reconciles and exits 0, a second
# pass inside the minimum interval exits 0 naming the first as the lock holder (the singleton the
# comments promise), and the check rejects a line with a bad field.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init deploy_cron
# shellcheck source=lib/deploy.bash
source "$E2E_LIB/deploy.bash"

CRON=$DEPLOY_DIR/cron/hydrate
# field_ok FIELD MIN MAX [NAMES]: one cron time field — *, N, N-M, lists, /STEP, names.
field_ok() {
  local field=$1 min=$2 max=$3 names=${4:-} part range step a b
  IFS=, read -r -a parts <<<"$field"
  ((${#parts[@]} > 0)) || return 1
  for part in "${parts[@]}"; do
    range=${part%%/*} step=""
    [[ $part == */* ]] && step=${part#*/}
    [[ -z $step || $step =~ ^[1-9][0-9]*$ ]] || return 1
    [[ $range == '*' ]] && continue
    if [[ -n $names && ${range,,} =~ ^($names)$ ]]; then continue; fi
    [[ $range =~ ^([0-9]+)(-([0-9]+))?$ ]] || return 1
    a=${BASH_REMATCH[1]} b=${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}
    ((10#$a >= min && 10#$b <= max && 10#$a <= 10#$b)) || return 1
  done
}
# entry_ok LINE: five time fields, a user, a command.
entry_ok() {
  local m h dom mon dow user command
  read -r m h dom mon dow user command <<<"$1"
  field_ok "$m" 0 59 && field_ok "$h" 0 23 && field_ok "$dom" 1 31 &&
    field_ok "$mon" 1 12 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec' &&
    field_ok "$dow" 0 7 'sun|mon|tue|wed|thu|fri|sat' &&
    [[ $user =~ ^[a-z_][a-z0-9_-]*$ && -n $command ]]
}
entries=()
while IFS= read -r line; do
  [[ -z ${line// /} || $line =~ ^[[:space:]]*# ]] && continue
  if [[ $line =~ ^[A-Z_][A-Z0-9_]*=[^[:space:]]*$ ]]; then continue; fi
  entry_ok "$line" || fail "deploy/cron/hydrate: not a valid /etc/cron.d entry: $line"
  entries+=("$line")
done <"$CRON"
assert_eq 1 "${#entries[@]}" "cron entries"
expect_rejected "a minute of 60" entry_ok "60 * * * * hydrate hydrate reconcile"
expect_rejected "an entry without a user" entry_ok "*/5 * * * * hydrate"
expect_rejected "a step of 0" entry_ok "*/0 * * * * hydrate hydrate reconcile"

read -r m h dom mon dow user command <<<"${entries[0]}"
assert_eq "*/5 * * * * hydrate" "$m $h $dom $mon $dow $user" "schedule and user of the reconcile entry"
# The command, then where its output goes: syslog, not cron's mail.
assert_eq "2>&1 | logger -t hydrate-reconcile" "2>${command#* 2>}" "where the entry's output goes"
command=${command%% 2>&1 |*}
read -r -a words <<<"$command"
assert_eq hydrate "${words[0]}" "the program the entry runs"
hydrate_flags_accepted "deploy/cron/hydrate" "${words[@]:1}"
[[ " ${words[*]} " == *" reconcile --min-interval-seconds "* ]] || fail "the entry is not reconcile --min-interval-seconds N"
interval=${command##*--min-interval-seconds }
interval=${interval%% *}
assert_le 299 "${interval%.*}" "--min-interval-seconds (shorter than the 5-minute period)"
assert_ge 60 "${interval%.*}" "--min-interval-seconds (long enough to cover the fleet's round)"

# Run it as cron would, with the example configuration instead of /etc/hydrate/hydrate.conf.
for ((i = 0; i < ${#words[@]}; i++)); do
  [[ ${words[$i]} == /etc/hydrate/hydrate.conf ]] && words[i]=$DEPLOY_DIR/etc/hydrate.conf
done
hy --json "${words[@]:1}"
assert_eq false "$(jq -r .skipped <<<"$RUN_OUT")" "the first pass skipped"
hy --json "${words[@]:1}"
assert_eq true "$(jq -r .skipped <<<"$RUN_OUT")" "a second pass inside --min-interval-seconds skipped"
assert_contains "$RUN_ERR" "another reconcile holds the lock" "stderr of the second pass"
note "the cron entry is valid and runs as a singleton"
