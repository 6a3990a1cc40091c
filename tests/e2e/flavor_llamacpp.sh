#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# llama.cpp server: a grammar-driven server bounds a string only where the schema says so. The
# profile (grammar dialect) gives every string a maxLength, so no answer runs away and the tree
# succeeds; told to send OpenAI's strict subset instead (no string lengths), every structured
# answer runs to max_tokens, is cut off and re-asked until its attempts are spent. The server also
# answers 503 "Loading model" (its error shape, an integer code) while it loads: transient, so
# the tree waits it out without spending attempts. A local model has no price: price 0.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/flavors.bash"
e2e_init flavor_llamacpp

printf 'price.qwen2.5-7b-instruct = 0,0,0\nwork.max_attempts = 2\n' >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf HYDRATE_LLM_MODEL=qwen2.5-7b-instruct
export HYDRATE_LLM_FLAVOR=llamacpp HYDRATE_RETRY_BASE_MS=50
start_mock --flavor llamacpp --loading-ms 1500
flavor_tree
assert_ge 1 "$(sql_count "SELECT count(*) FROM llm_calls WHERE http_status = 503 AND error LIKE '%oading%'")" \
  "calls answered 503 while the model loaded"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE used = 0 AND http_status <> 503")" \
  "unused calls other than the loading 503s (runaway or refused answers)"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE attempts <> 1")" "steps that spent more than one attempt"
assert_eq 0 "$(mock_stats | jq '.requests.byFault.runaway')" "answers that ran away"
assert_billing_exact

# The same server, sent the strict dialect (no maxLength): the strings run away.
cat >"$E2E_DIR/models.tsv" <<'TSV'
llamacpp	*	max_tokens	yes	json_schema	strict
TSV
HYDRATE_MODELS=$E2E_DIR/models.tsv hy --json submit --language en --board CBSE --grade 5 \
  --subject SCIENCE "${FLAVOR_TREE[@]}"
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
HYDRATE_MODELS=$E2E_DIR/models.tsv run "$HYDRATE_BIN" work --until-idle
status_json "$ROOT"
assert_eq failed "$(jqs .status)" "status of the tree sent strings without maxLength"
assert_ge 2 "$(mock_stats | jq '.requests.byFault.runaway')" "answers that ran away"
assert_contains "$(jqs '.errors[0].error')" "cut off" "the failed step's error"
