#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Every request body hydrate can build is valid against CreateChatCompletionRequest of OpenAI's
# API description (../shared/openai/chat-completions.yaml, or HYDRATE_OPENAI_SPEC): each step
# kind × each server flavor × a model of each data/models.tsv row × each structured-output mode ×
# both output-token fields × first call, re-asks and hostile text (hydrate_request_bodies prints
# them, from build_chat_body itself). tests/tools/request_spec_check.py judges them with
# jsonschema, after rejecting bodies known to be wrong so that it cannot pass vacuously.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init request_spec
[[ -n ${HYDRATE_REQUEST_BODIES_BIN:-} && -x ${HYDRATE_REQUEST_BODIES_BIN:-} ]] ||
  fail "HYDRATE_REQUEST_BODIES_BIN must name the built hydrate_request_bodies; run through ctest"
need_tool python3
python3 -c 'import jsonschema, yaml' 2>/dev/null ||
  fail "python3 lacks jsonschema or yaml: run scripts/setup (python3-jsonschema, python3-yaml)"
SPEC=${HYDRATE_OPENAI_SPEC:-$HYDRATE_SOURCE_DIR/../shared/openai/chat-completions.yaml}
[[ -r $SPEC ]] || fail "OpenAI's API description is not readable at $SPEC (set HYDRATE_OPENAI_SPEC)"

"$HYDRATE_REQUEST_BODIES_BIN" >"$E2E_DIR/bodies.tsv"
BODIES=$(wc -l <"$E2E_DIR/bodies.tsv")
note "$BODIES request bodies built"
# 4 kinds × 5 flavors × 7 models × 3 modes × 2 token fields × 4 variants, and 48 more.
assert_ge 3408 "$BODIES" "request bodies printed"

python3 "$HYDRATE_SOURCE_DIR/tests/tools/request_spec_check.py" "$SPEC" \
  <"$E2E_DIR/bodies.tsv" >"$E2E_DIR/check.out" 2>"$E2E_DIR/check.err" || {
  cat "$E2E_DIR/check.err" >&2
  fail "request bodies invalid against $SPEC"
}
cat "$E2E_DIR/check.out"
assert_contains "$(cat "$E2E_DIR/check.out")" "$BODIES bodies" "the check's summary"
note "every request body is valid against CreateChatCompletionRequest"
