#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# The content is in the language asked for (CLD2). A Hindi tree against an endpoint that writes
# about one answer in three in another language (English, French or Spanish) still succeeds:
# every such answer is logged as rejected, its error naming the language it was in and the one
# asked for, and re-asked; every stored text is Hindi. Spanish and French trees against an
# endpoint without the fault are written in their language at once: no call is rejected.
# Stored text is judged with hydrate_language_check, the validator's own check as a command.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init language
need_tool jq
[[ -n ${HYDRATE_LANGUAGE_CHECK_BIN:-} && -x ${HYDRATE_LANGUAGE_CHECK_BIN:-} ]] ||
  fail "HYDRATE_LANGUAGE_CHECK_BIN must name the built hydrate_language_check; run through ctest"

# A wrong answer 30 % of the time: a step failing all of its 12 attempts (0.3^12) never happens.
printf 'work.max_attempts = 12\n' >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
TREE=(--board CBSE --grade 1 --subject MATH --chapters 3 --topics-per-chapter 2 --questions-per-topic 3)

# answer_texts: one JSON string per stored answer of the export in EXPORT (the subject's chapter
# list, each chapter's topics, each note, each question set), joined as the validator joins them.
answer_texts() {
  jq -c '([.chapters[] | .title, .summary] | join("\n")),
         (.chapters[] | [.topics[] | .title, .objectives[]] | join("\n")),
         (.chapters[].topics[] | .note | select(. != null) | [.markdown, .keyPoints[]] | join("\n")),
         (.chapters[].topics[] | select(.questions | length > 0)
            | [.questions[] | .prompt, .options[], .answer, .explanation] | join("\n"))' <<<"$EXPORT"
}

# field_texts: every stored text field of the export in EXPORT, one JSON string each.
field_texts() {
  jq -c '.chapters[] | .title, .summary, (.topics[] | .title, .objectives[],
           (.note | select(. != null) | .markdown, .keyPoints[]),
           (.questions[] | .prompt, .options[], .answer, .explanation))' <<<"$EXPORT"
}

# assert_stored_in LANG ROOT: every answer stored under ROOT is judged (long enough, CLD2
# reliable) and in LANG, and no text field long enough to judge on its own is in another.
assert_stored_in() {
  local lang=$1 root=$2 answers verdict
  assert_export_matches "$root"
  answers=$(answer_texts | wc -l)
  assert_eq "$(jq '1 + (.chapters | length) + 2 * ([.chapters[].topics[]] | length)' <<<"$EXPORT")" \
    "$answers" "stored answers of the $lang tree (subject, chapters, a note and questions per topic)"
  run "$HYDRATE_LANGUAGE_CHECK_BIN" "$lang" < <(answer_texts)
  ((RUN_RC == 0)) || fail "stored answers of the $lang tree not in $lang: $RUN_ERR"
  assert_eq "judged $answers, not judged 0, mismatched 0" "$RUN_OUT" "answers of the $lang tree"
  verdict=$RUN_OUT
  run "$HYDRATE_LANGUAGE_CHECK_BIN" "$lang" < <(field_texts)
  ((RUN_RC == 0)) || fail "stored fields of the $lang tree not in $lang: $RUN_ERR"
  note "$lang: answers $verdict; fields $RUN_OUT"
  verdict=$RUN_OUT
  [[ $verdict =~ ^judged\ ([0-9]+),\ not\ judged\ [0-9]+,\ mismatched\ 0$ ]] ||
    fail "unexpected check output: $verdict"
  # Notes and most question texts are long enough on their own: one per topic at least.
  assert_ge "$(jq '[.chapters[].topics[]] | length' <<<"$EXPORT")" "${BASH_REMATCH[1]}" \
    "fields of the $lang tree long enough to judge alone ($verdict)"
}

# 1. Hindi, with answers in other languages: rejected with the reason, re-asked, never stored.
start_mock --seed 21 --rate-wrong-language 0.3
hy --json submit --language hi "${TREE[@]}"
HI_ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
work_until_idle --concurrency 4
note "worker: ${RUN_ERR##*$'\n'}"
assert_tree_succeeded "$HI_ROOT"
assert_no_duplicate_content

STATS=$(mock_stats)
printf '%s\n' "$STATS" >"$E2E_DIR/stats.hi.json"
note "endpoint: $(jq -c .requests.byWrongLanguage <<<"$STATS")"
assert_eq 0 "$(jq .requests.byWrongLanguage.hi <<<"$STATS")" "answers in hi counted as wrong for hi"
WRONG=$(jq '[.requests.byWrongLanguage[]] | add' <<<"$STATS")
assert_ge 3 "$WRONG" "answers the endpoint wrote in another language (the test must see re-asks)"
REASON_LIKE="invalid answer: the text is in % (%), not the requested language hi; write every field in hi"
assert_eq "$WRONG" "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$HI_ROOT'
                                   AND used = 0 AND error LIKE '$REASON_LIKE'")" \
  "calls rejected for their language vs answers written in another language"
for pair in en:English fr:French es:Spanish; do
  code=${pair%%:*} name=${pair#*:}
  assert_eq "$(jq ".requests.byWrongLanguage.$code" <<<"$STATS")" \
    "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$HI_ROOT' AND used = 0 AND
                  error = 'invalid answer: the text is in $name ($code), not the requested language hi; write every field in hi'")" \
    "rejections naming $name ($code) vs answers the endpoint wrote in $code"
done
# Nothing else was refused: each rejection was a wrong language, and each was re-asked.
assert_eq "$WRONG" "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$HI_ROOT' AND used = 0")" \
  "unused calls of the hi tree"
assert_stored_in hi "$HI_ROOT"
stop_mock

# 2. Spanish and French without the fault: every answer in its language the first time.
start_mock --seed 22
hy --json submit --language es "${TREE[@]}"
ES_ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
hy --json submit --language fr "${TREE[@]}"
FR_ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
work_until_idle --concurrency 4
for root in "$ES_ROOT" "$FR_ROOT"; do
  assert_tree_succeeded "$root"
  assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$root' AND used = 0")" \
    "rejected calls of root $root"
done
assert_eq 0 "$(jq '[.requests.byWrongLanguage[]] | add' <<<"$(mock_stats)")" \
  "answers in another language without the fault"
assert_stored_in es "$ES_ROOT"
assert_stored_in fr "$FR_ROOT"
assert_no_duplicate_content
