#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Azure OpenAI: the URL names a deployment (…/openai/deployments/NAME), every request carries
# ?api-version=, and the key goes in the api-key header, not Authorization. hydrate detects the
# flavor from the URL; the endpoint refuses anything else (404 without api-version, 401 for a
# bearer token). The call log keeps Azure's apim-request-id and its remaining-* headers.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/flavors.bash"
e2e_init flavor_azure

KEY=az-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_mock --flavor azure --api-key "$KEY" --deployments gpt-4o-mini
export HYDRATE_LLM_URL="$MOCK_URL/openai/deployments/gpt-4o-mini" HYDRATE_LLM_API_KEY=$KEY
flavor_tree
assert_no_refused_calls
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE request_id IS NULL OR remaining_requests IS NULL")" \
  "calls without apim-request-id or the remaining requests"
assert_billing_exact
assert_cost_priced "$ROOT"

# A deployment that does not exist is Azure's 404: a permanent error, named in status.
export HYDRATE_LLM_URL="$MOCK_URL/openai/deployments/missing"
hy --json submit --language en --board CBSE --grade 5 --subject SCIENCE "${FLAVOR_TREE[@]}"
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
run "$HYDRATE_BIN" work --until-idle
status_json "$ROOT"
assert_eq failed "$(jqs .status)" "status of a tree sent to a missing deployment"
assert_contains "$(jqs '.errors[0].error')" "404" "the error names Azure's 404"
assert_empty "$(grep -rl -- "$KEY" "$E2E_DIR" --include='*.err' --include='*.out' || true)" "logs holding the key"
