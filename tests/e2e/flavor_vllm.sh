#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# vLLM: grammar-guided like llama.cpp, with its own error shape ({"object":"error",…,"code":400})
# and no rate-limit headers. The tree succeeds with every string bounded, and a server error in
# its shape (injected 500s) is retried as transient.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/flavors.bash"
e2e_init flavor_vllm

printf 'price.meta-llama/Llama-3.1-8B-Instruct = 0,0,0\n' >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf HYDRATE_LLM_MODEL=meta-llama/Llama-3.1-8B-Instruct
export HYDRATE_LLM_FLAVOR=vllm HYDRATE_RETRY_BASE_MS=10
start_mock --flavor vllm --rate-500 0.2 --seed 4
flavor_tree
assert_ge 1 "$(sql_count "SELECT count(*) FROM llm_calls WHERE http_status = 500")" "500s answered"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE used = 0 AND http_status <> 500")" \
  "unused calls other than the 500s"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE remaining_requests IS NOT NULL")" \
  "calls with rate-limit headers (vLLM sends none)"
assert_eq 0 "$(mock_stats | jq '.requests.byFault.runaway')" "answers that ran away"
assert_billing_exact
