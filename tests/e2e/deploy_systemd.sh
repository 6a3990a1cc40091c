#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# deploy/systemd/*: `systemd-analyze verify` accepts every unit with no warning at all (it exits
# 0 on an unknown key or a bad value and only says so, so any output fails the test), with
# ExecStart pointed at the built binary and the Documentation= man pages looked up in man/.
# Every ExecStart is a command line the real binary accepts, and runs: against a fresh SQLite
# database with deploy/etc/hydrate.conf, the worker (with --until-idle) and the reconcile pass
# exit 0, and the metrics command writes a valid exposition file. A unit with a typo fails. The
# services are hardened: `systemd-analyze security` rates each 1.5 or less.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init deploy_systemd
# shellcheck source=lib/deploy.bash
source "$E2E_LIB/deploy.bash"
tool_or_skip systemd-analyze systemd
tool_or_skip promtool prometheus

UNITS=(hydrate-work@.service hydrate-reconcile.service hydrate-reconcile.timer hydrate-metrics.service
  hydrate-serve.service)
SERVICES=(hydrate-work@.service hydrate-reconcile.service hydrate-metrics.service hydrate-serve.service)
mkdir -p "$E2E_DIR/units"
for unit in "${UNITS[@]}"; do
  [[ -f $DEPLOY_DIR/systemd/$unit ]] || fail "deploy/systemd/$unit is missing"
  sed "s|/usr/bin/hydrate |$HYDRATE_BIN |" "$DEPLOY_DIR/systemd/$unit" >"$E2E_DIR/units/$unit"
done
assert_eq "${#UNITS[@]}" "$(find "$DEPLOY_DIR/systemd" -type f | wc -l)" "files in deploy/systemd (each one verified here)"

# The man pages the units' Documentation= names, where man(1) finds them.
VERIFY=(systemd-analyze verify)
if command -v man >/dev/null 2>&1; then
  mkdir -p "$E2E_DIR/man/man1" "$E2E_DIR/man/man7"
  for page in "$DEPLOY_ROOT"/man/*.[17]; do ln -s "$page" "$E2E_DIR/man/man${page##*.}/"; done
  export MANPATH=$E2E_DIR/man
else
  note "man(1) is missing (apt-get install man-db): Documentation= is not checked"
  VERIFY+=(--man=no)
fi

# verify_unit FILE: systemd-analyze verify exits 0 and says nothing.
verify_unit() {
  local out
  out=$(cd "$(dirname "$1")" && "${VERIFY[@]}" "./$(basename "$1")" 2>&1) || { printf '%s\n' "$out"; return 1; }
  [[ -z $out ]] || { printf '%s\n' "$out"; return 1; }
}
for unit in "${UNITS[@]}"; do
  verify_unit "$E2E_DIR/units/$unit" >"$E2E_DIR/verify.out" ||
    fail "systemd-analyze verify $unit: $(cat "$E2E_DIR/verify.out")"
done

# Hardened: systemd's own exposure score (0 safe to 10 exposed) at most 1.5 for each service.
for unit in "${SERVICES[@]}"; do
  (cd "$E2E_DIR/units" && systemd-analyze security --offline=yes --no-pager --threshold=15 "./$unit") \
    >"$E2E_DIR/security.out" 2>&1 || fail "$unit is exposed: $(grep -E 'Overall' "$E2E_DIR/security.out")"
done

# The check has teeth: a misspelt key, a bad value, a missing binary.
sed 's/^ProtectHome=yes/ProtectHom=yes/' "$E2E_DIR/units/hydrate-metrics.service" >"$E2E_DIR/units/typo-key.service"
expect_rejected "a unit with a misspelt key" verify_unit "$E2E_DIR/units/typo-key.service"
sed 's/^Restart=on-failure/Restart=onfailure/' "$E2E_DIR/units/hydrate-work@.service" >"$E2E_DIR/units/typo-value@.service"
expect_rejected "a unit with a misspelt value" verify_unit "$E2E_DIR/units/typo-value@.service"
sed "s|$HYDRATE_BIN |/nonexistent/hydrate |" "$E2E_DIR/units/hydrate-reconcile.service" >"$E2E_DIR/units/no-binary.service"
expect_rejected "a unit whose binary does not exist" verify_unit "$E2E_DIR/units/no-binary.service"
rm -f "$E2E_DIR"/units/typo-* "$E2E_DIR"/units/no-binary.service

# value UNIT KEY: the (last) value of KEY= in the unit.
value() { sed -n "s/^$2=//p" "$DEPLOY_DIR/systemd/$1" | tail -n 1; }
assert_eq exec "$(value hydrate-work@.service Type)" "Type of the worker"
assert_eq SIGTERM "$(value hydrate-work@.service KillSignal)" "KillSignal of the worker (it drains on SIGTERM)"
# The stop timeout outlasts one model call (llm.timeout_ms, 120 s by default and in hydrate.conf).
timeout_ms=$(sed -n 's/^llm\.timeout_ms *= *//p' "$DEPLOY_DIR/etc/hydrate.conf")
assert_ge $((timeout_ms / 1000 + 30)) "$(value hydrate-work@.service TimeoutStopSec)" "TimeoutStopSec of the worker"
assert_eq oneshot "$(value hydrate-reconcile.service Type)" "Type of the reconcile pass"
assert_eq "*:0/5" "$(value hydrate-reconcile.timer OnCalendar)" "OnCalendar of the reconcile timer"
assert_eq true "$(value hydrate-reconcile.timer Persistent)" "Persistent of the reconcile timer"
for unit in "${SERVICES[@]}"; do
  assert_eq /etc/hydrate/hydrate.env "$(value "$unit" EnvironmentFile)" "EnvironmentFile of $unit"
  assert_eq hydrate "$(value "$unit" StateDirectory)" "StateDirectory of $unit"
  for key in NoNewPrivileges ProtectHome PrivateTmp; do
    assert_eq yes "$(value "$unit" "$key")" "$key of $unit"
  done
  assert_eq strict "$(value "$unit" ProtectSystem)" "ProtectSystem of $unit"
done

# exec_words UNIT: the ExecStart command line after the binary, one word a line.
exec_words() { value "$1" ExecStart | sed 's|^/usr/bin/hydrate ||' | tr ' ' '\n'; }
for unit in "${SERVICES[@]}"; do
  mapfile -t words < <(exec_words "$unit")
  [[ ${words[0]} == --config && ${words[1]} == /etc/hydrate/hydrate.conf ]] ||
    fail "$unit: ExecStart does not start with --config /etc/hydrate/hydrate.conf: ${words[*]}"
  hydrate_flags_accepted "ExecStart of $unit" "${words[@]}"
  # Run it, with the example configuration, on one database as on a machine (the worker, first,
  # creates it).
  words[1]=$DEPLOY_DIR/etc/hydrate.conf
  case $unit in
    hydrate-work@.service) words+=(--until-idle) ;;
    hydrate-serve.service)
      # Runs until stopped: started, asked for /readyz with the credential's token, stopped.
      printf 'unit-token\n' >"$E2E_DIR/admin-token"
      HYDRATE_DB="sqlite:$E2E_DIR/units.db" HYDRATE_ADMIN_TOKEN_FILE=$E2E_DIR/admin-token \
        spawn SERVE serve "$HYDRATE_BIN" "${words[@]:0:${#words[@]}-1}" 127.0.0.1:0
      wait_listening "$SERVE" serve "the serve unit's command"
      assert_eq 200 "$(curl -sS -o /dev/null -w '%{http_code}' "$LISTEN_URL/readyz")" "/readyz of the serve unit's command"
      assert_eq 200 "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer unit-token' \
        "$LISTEN_URL/api/admin/hydrateAll")" "the API with the token file's token"
      kill -TERM "$SERVE"
      reap "$SERVE" 30
      assert_eq 0 "$REAP_RC" "exit status of serve on SIGTERM"
      continue
      ;;
    hydrate-metrics.service)
      [[ ${words[-2]} == --every ]] || fail "$unit: ExecStart does not end with --every DURATION"
      words=("${words[@]:0:${#words[@]}-2}")
      for ((i = 0; i < ${#words[@]}; i++)); do
        [[ ${words[$i]} == --output ]] && words[i + 1]=$E2E_DIR/hydrate.prom
      done
      ;;
  esac
  HYDRATE_DB="sqlite:$E2E_DIR/units.db" hy "${words[@]}"
done
run promtool check metrics <"$E2E_DIR/hydrate.prom"
((RUN_RC == 0)) || fail "the metrics file is not a valid exposition: $RUN_ERR $RUN_OUT"
assert_contains "$(cat "$E2E_DIR/hydrate.prom")" "# TYPE hydrate_jobs_claimed_total counter" "the metrics file"
note "${#UNITS[@]} units verified, their commands run"
