#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Structured-output fallback: an endpoint that refuses response_format json_schema with a 400
# gets json_object, and one that refuses both gets the schema in the prompt alone; the mode that
# worked is remembered in the database, so the next worker (and the next tree) pays no refused
# call again. The refused calls spend no attempt.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/flavors.bash"
e2e_backend_init response_format_fallback "$E2E_BACKEND"

start_mock --response-formats json_object,text
flavor_tree
REFUSED=$(sql_count "SELECT count(*) FROM llm_calls WHERE http_status = 400")
assert_ge 1 "$REFUSED" "calls refused for json_schema"
assert_le 4 "$REFUSED" "calls refused for json_schema (at most the calls in flight when it was learnt)"
assert_eq json_object "$(sql "SELECT response_format FROM endpoint_modes")" "the mode remembered"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE attempts <> 1")" "steps that spent more than one attempt"
assert_eq "$REFUSED" "$(sql_count "SELECT count(*) FROM llm_calls WHERE response_format = 'json_schema'")" \
  "json_schema calls (only the refused ones)"

# A second tree, by a new worker: no refused call at all.
BEFORE=$(sql_count "SELECT count(*) FROM llm_calls")
flavor_tree
assert_eq "$REFUSED" "$(sql_count "SELECT count(*) FROM llm_calls WHERE http_status = 400")" \
  "refused calls after the second tree"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE id > $BEFORE AND response_format <> 'json_object'")" \
  "calls of the second tree not in json_object"
assert_billing_exact
stop_mock

# An endpoint with no structured outputs at all: down to the schema in the prompt.
sql "DELETE FROM endpoint_modes"
FIRST_CALL=$(sql_count "SELECT max(id) FROM llm_calls")
start_mock --response-formats text
flavor_tree
assert_eq prompt "$(sql "SELECT response_format FROM endpoint_modes")" "the mode remembered"
assert_ge 2 "$(sql_count "SELECT count(*) FROM llm_calls WHERE id > $FIRST_CALL AND http_status = 400")" \
  "calls refused, json_schema then json_object"
assert_billing_exact "WHERE id > $FIRST_CALL"
