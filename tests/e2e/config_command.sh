#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# hydrate config: every known key with its effective value and where it came from — a flag, the
# environment, the config file with its line, or the default — with the API key and a database
# password masked; one key alone; --json; an unknown key is a usage error.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init config_command

KEY="sk-config-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat >"$E2E_DIR/hydrate.conf" <<'CONF'
# comments and blank lines count as lines

work.concurrency = 6
llm.model = gpt-4o
retry.max_elapsed = 10m
CONF
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf HYDRATE_LLM_API_KEY=$KEY HYDRATE_RETRY_MAX_ELAPSED=5m

hy config
TABLE=$RUN_OUT
row() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ +/, ""); print }' <<<"$TABLE"; }
assert_contains "$(head -n 1 <<<"$TABLE")" "config file: $E2E_DIR/hydrate.conf (environment HYDRATE_CONFIG)" "the config file line"
[[ $(row work.concurrency) =~ ^6\ +config\ $E2E_DIR/hydrate.conf:3$ ]] || fail "work.concurrency's row: $(row work.concurrency)"
[[ $(row llm.model) =~ ^gpt-4o\ +config\ .*hydrate.conf:4$ ]] || fail "llm.model's row: $(row llm.model)"
[[ $(row retry.max_elapsed) =~ ^5m\ +environment\ HYDRATE_RETRY_MAX_ELAPSED$ ]] || fail "the environment beats the file: $(row retry.max_elapsed)"
[[ $(row llm.api_key) =~ ^\*\*\*\ +environment\ HYDRATE_LLM_API_KEY$ ]] || fail "the API key's row: $(row llm.api_key)"
[[ $(row work.max_attempts) =~ ^5\ +default$ ]] || fail "a default's row: $(row work.max_attempts)"
[[ $(row db) =~ ^sqlite:.*hydrate.db\ +environment\ HYDRATE_DB$ ]] || fail "db's row: $(row db)"

# A flag beats everything; a database password is masked like the key; nothing leaks.
run "$HYDRATE_BIN" --db "postgresql://hydrate:s3cret-pw@db.example/hydrate" --json config
assert_eq 0 "$RUN_RC" "exit status of config --json"
JSON=$RUN_OUT
assert_eq "postgresql://hydrate:***@db.example/hydrate|flag" \
  "$(jq -r '.keys[] | select(.key == "db") | "\(.value)|\(.origin)"' <<<"$JSON")" "db in --json"
assert_eq "***|true" "$(jq -r '.keys[] | select(.key == "llm.api_key") | "\(.value)|\(.secret)"' <<<"$JSON")" "the key in --json"
assert_eq "config $E2E_DIR/hydrate.conf:3" "$(jq -r '.keys[] | select(.key == "work.concurrency") | .origin' <<<"$JSON")" "an origin in --json"
assert_eq "environment HYDRATE_CONFIG" "$(jq -r .configFileOrigin <<<"$JSON")" "the config file's origin"
for out in "$TABLE" "$JSON" "$RUN_ERR"; do
  [[ $out != *"$KEY"* && $out != *s3cret-pw* ]] || fail "config printed a secret"
done
# Every key the binary knows is listed once, with its default, help and variables.
KEYS=$(jq -r '.keys[].key' <<<"$JSON")
assert_eq "$(sort -u <<<"$KEYS" | grep -c .)" "$(grep -c . <<<"$KEYS")" "keys listed once"
assert_ge 20 "$(grep -c . <<<"$KEYS")" "keys listed"
assert_eq 0 "$(jq '[.keys[] | select((.help | length) == 0 or (.default | type) != "string")] | length' <<<"$JSON")" \
  "keys without help or default"
assert_eq '["HYDRATE_LLM_API_KEY","OPENAI_API_KEY"]' "$(jq -c '.keys[] | select(.key == "llm.api_key") | .environment' <<<"$JSON")" \
  "llm.api_key's variables"

# One key: its value alone, or its JSON; an unknown key exits 2 naming it.
hy config work.concurrency
assert_eq 6 "$RUN_OUT" "config work.concurrency"
hy --json config llm.api_key
assert_eq '{"key":"llm.api_key","origin":"environment HYDRATE_LLM_API_KEY","value":"***"}' "$(jq -cS . <<<"$RUN_OUT")" \
  "config --json llm.api_key"
run "$HYDRATE_BIN" config work.concurency
assert_eq 2 "$RUN_RC" "exit status of an unknown key"
assert_contains "$RUN_ERR" "unknown key 'work.concurency'" "the error of an unknown key"
# A broken config file is the same one-line error every command gives, naming its line.
printf 'work.concurrency 6\n' >"$E2E_DIR/broken.conf"
run "$HYDRATE_BIN" --config "$E2E_DIR/broken.conf" config
assert_eq 2 "$RUN_RC" "exit status of a broken config file"
assert_contains "$RUN_ERR" "broken.conf:1: expected 'key = value'" "the error of a broken config file"
