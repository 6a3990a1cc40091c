#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ollama's OpenAI-compatible API: JSON mode (response_format json_object) and no usage in its
# answers. The profile starts Ollama at json_object with the schema spelled out in the prompt;
# tokens are counted from the text and every call is flagged usage_estimated in the call log.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/flavors.bash"
e2e_init flavor_ollama

printf 'price.llama3.2 = 0.1,0.1,0.1\n' >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf HYDRATE_LLM_MODEL=llama3.2 HYDRATE_LLM_FLAVOR=ollama
start_mock --flavor ollama
flavor_tree
assert_no_refused_calls
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE usage_estimated <> 1 OR prompt_tokens <= 0 OR completion_tokens <= 0")" \
  "calls not flagged as estimated, or without counted tokens"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE response_format <> 'json_object'")" \
  "calls that did not use json_object"
# The counts are estimates: within a factor of two of what the server would have billed.
BILLED=$(mock_stats | jq '.billed.promptTokens + .billed.completionTokens')
LOGGED=$(sql_count "SELECT sum(prompt_tokens + completion_tokens) FROM llm_calls")
assert_ge "$((BILLED / 2))" "$LOGGED" "estimated tokens against the server's count ($BILLED)"
assert_le "$((BILLED * 2))" "$LOGGED" "estimated tokens against the server's count ($BILLED)"
