#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# OpenAI reasoning models (o4-mini here): the endpoint plays OpenAI, which answers 400 to
# max_tokens and to a temperature other than 1 for o-series and gpt-5 models. The model profile
# (data/models.tsv) sends max_completion_tokens and no temperature, so the tree succeeds with no
# refused call; reasoning tokens are logged with each call and billed as output, and the call log
# keeps the request id and the rate-limit headers OpenAI sends.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/flavors.bash"
e2e_init flavor_openai_reasoning

export HYDRATE_LLM_MODEL=o4-mini
start_mock --flavor openai
flavor_tree
assert_no_refused_calls
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE reasoning_tokens <= 0 OR reasoning_tokens > completion_tokens")" \
  "calls without reasoning tokens, or with more than their completion tokens"
assert_eq "$(mock_stats | jq .billed.reasoningTokens)" "$(sql_count "SELECT sum(reasoning_tokens) FROM llm_calls")" \
  "reasoning tokens: billed by the endpoint vs logged"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE request_id IS NULL OR remaining_requests IS NULL OR remaining_tokens IS NULL")" \
  "calls without the request id or the remaining requests and tokens"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE response_format <> 'json_schema'")" \
  "calls that did not use json_schema"
assert_billing_exact
assert_cost_priced "$ROOT" o4-mini

# Without the profile (every model told to take max_tokens), the same server refuses the step.
printf 'llm.max_tokens_field = max_tokens\n' >"$E2E_DIR/hydrate.conf"
HYDRATE_CONFIG=$E2E_DIR/hydrate.conf hy --json submit --language en --board CBSE --grade 5 \
  --subject SCIENCE "${FLAVOR_TREE[@]}"
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
HYDRATE_CONFIG=$E2E_DIR/hydrate.conf run "$HYDRATE_BIN" work --until-idle
status_json "$ROOT"
assert_eq failed "$(jqs .status)" "status of the tree sent max_tokens"
assert_contains "$(jqs '.errors[0].error')" "max_completion_tokens" "the refusal names the field to use"
