#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# man/hydrate-runbook.7 is the runbook the alerts link to: every alert's runbook_url anchor is
# the id of a section of the page as mandoc renders it to HTML; every problem of the original
# checklist has its section; each section gives symptoms, then diagnosis, then the fix; no SQL;
# and every hydrate command line it shows (.Dl, literal blocks, .Ic, .Ql, and "hydrate
# SUBCOMMAND --flag" in the prose) names a subcommand and flags the real binary's --help lists.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init deploy_runbook
# shellcheck source=lib/deploy.bash
source "$E2E_LIB/deploy.bash"
tool_or_skip mandoc
tool_or_skip python3

PAGE=$DEPLOY_ROOT/man/hydrate-runbook.7
RULES=$DEPLOY_DIR/prometheus/hydrate-alerts.yml
mandoc -T lint -W warning "$PAGE" >"$E2E_DIR/lint.out" 2>&1 || fail "mandoc -T lint: $(cat "$E2E_DIR/lint.out")"
mandoc -T html "$PAGE" >"$E2E_DIR/runbook.html"
mandoc -T ascii "$PAGE" | col -b >"$E2E_DIR/runbook.txt"

# section_ids: the ids of the page's sections and subsections, as the HTML has them.
section_ids() { grep -oE '<h[12] class="S[hs]" id="[^"]+"' "$1" | sed 's/.*id="//; s/"$//'; }
section_ids "$E2E_DIR/runbook.html" >"$E2E_DIR/ids.txt"
anchors=$(sed -n 's/^ *runbook_url: *//p' "$RULES")
assert_eq 7 "$(wc -l <<<"$anchors")" "runbook_url annotations in the alert rules"
while read -r url; do
  [[ $url == https://runbooks.example.org/hydrate-runbook#* ]] || fail "runbook_url '$url' is not on the documented base"
  grep -qx -e "${url#*#}" "$E2E_DIR/ids.txt" || fail "runbook_url $url: no section '${url#*#}' in man/hydrate-runbook.7"
done <<<"$anchors"
# The check has teeth: an anchor the page lacks is not found.
expect_rejected "an anchor with no section" grep -qx -e "hydratetypo" "$E2E_DIR/ids.txt"

for problem in Jobs_stuck_in_pending Reconcile_not_creating_child_jobs High_cost_variance \
  Cancelling_stuck_jobs Requeueing_failed_jobs Validation_failures; do
  grep -qx -e "$problem" "$E2E_DIR/ids.txt" || fail "no section '${problem//_/ }' in the runbook"
done

# Each subsection: Symptoms., Diagnose., Fix., in that order, each once.
python3 - "$PAGE" >"$E2E_DIR/order.txt" <<'PY'
import re, sys
section, seen = None, {}
for line in open(sys.argv[1]):
    if line.startswith((".Ss ", ".Sh ")):
        section = line.split(None, 1)[1].strip() if line.startswith(".Ss ") else None
        if section: seen[section] = []
    m = re.match(r"\.Sy (Symptoms|Diagnose|Fix) \.", line)
    if m and section: seen[section].append(m.group(1))
for name, parts in seen.items():
    print(name + ":" + ",".join(parts))
PY
assert_eq 13 "$(wc -l <"$E2E_DIR/order.txt")" "subsections of the runbook (6 problems, 7 alerts)"
bad=$(grep -v ':Symptoms,Diagnose,Fix$' "$E2E_DIR/order.txt" || true)
assert_empty "$bad" "subsections without Symptoms, Diagnose, Fix in that order"
if grep -nE '\b(SELECT|INSERT INTO|DELETE FROM|UPDATE [a-z_]+ SET)\b|\b(sqlite3|psql) ' "$E2E_DIR/runbook.txt" >"$E2E_DIR/sql.txt"; then
  fail "the runbook shows SQL: $(head -n 3 "$E2E_DIR/sql.txt")"
fi

# Every hydrate command line of the page, one a line: from .Dl, literal blocks (with their
# backslash continuations), .Ic and .Ql, unescaped as roff renders them, cut at a pipe.
python3 - "$PAGE" >"$E2E_DIR/commands.txt" <<'PY'
import re, sys
def unescape(s):
    return s.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")
lines, literal, pending = [], False, ""
for raw in open(sys.argv[1]):
    line = raw.rstrip("\n")
    if line.startswith(".Bd -literal"):
        literal = True; continue
    if line.startswith(".Ed"):
        literal = False; continue
    if literal:
        text = unescape(line)
        if text.endswith("\\"):
            pending += text[:-1]; continue
        lines.append(pending + text); pending = ""; continue
    m = re.match(r"\.(?:Dl|Ql|(?:\w+ )*Ic) (.*)", line)
    if m: lines.append(unescape(m.group(1)))
    for m in re.finditer(r"\.(?:\w+ )*(?:Ic|Ql) (hydrate .*)", line):
        lines.append(unescape(m.group(1)))
for text in lines:
    text = re.sub(r"\s+[,;.)]*$", "", text.split("|")[0]).strip()
    text = re.sub(r" [,;.)]+$", "", text)
    if text.startswith("hydrate "):
        print(" ".join(text.split()))
PY
# And "hydrate SUBCOMMAND --flag…" in the rendered prose, for the subcommands the binary has
# and the ones the runbook relies on.
subcommands=$(hydrate_subcommands | paste -sd'|')
grep -oE "\\bhydrate ($subcommands|report|config)( --?[a-z][-a-z]*( [A-Z0-9][A-Za-z0-9.]*)?)+" "$E2E_DIR/runbook.txt" >>"$E2E_DIR/commands.txt" || true
sort -u "$E2E_DIR/commands.txt" -o "$E2E_DIR/commands.txt"
assert_ge 25 "$(wc -l <"$E2E_DIR/commands.txt")" "distinct hydrate command lines found in the runbook"
for needed in "hydrate cancel ROOT --reason" "hydrate requeue --failed" \
  "hydrate status ROOT" "hydrate estimate" "hydrate config" "hydrate reconcile" \
  "hydrate report --since"; do
  grep -q -e "^$needed" "$E2E_DIR/commands.txt" || fail "the runbook never shows '$needed'"
done
while read -r -a words; do
  hydrate_flags_accepted "man/hydrate-runbook.7: ${words[*]}" "${words[@]:1}"
done <"$E2E_DIR/commands.txt"
# The check has teeth: a flag the subcommand lacks is refused.
expect_rejected "a runbook command with a misspelt flag" bash -c \
  "source '$E2E_LIB/common.bash'; E2E_NAME=probe E2E_DIR='$E2E_DIR'; source '$E2E_LIB/deploy.bash'; hydrate_flags_accepted probe requeue --faild"
note "$(wc -l <"$E2E_DIR/commands.txt") command lines accepted; 7 alert anchors found"
