# shellcheck shell=bash
# Option names as the built binaries' --help prints them and as the man pages document them; shared
# by help_man_agree.sh and completion.sh. Sourced, never run.

# help_subcommands HELP_TEXT: the names under "Subcommands:" of a CLI11 --help, one a line.
help_subcommands() {
  awk '/^Subcommands:/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }' <<<"$1"
}

# help_options HELP_TEXT: every option name under "Options:" of a CLI11 --help, one a line
# ("-o,--output TEXT" gives -o and --output; "--notes,--no-notes{false}" both names).
# Continuation lines are indented far deeper than the two spaces of an option's line.
help_options() {
  awk '/^Options:/ { on = 1; next } /^[^ ]/ { on = 0 }
       on && /^  -/ { names = $1; sub(/\{.*/, "", names); n = split(names, parts, ",")
                      for (i = 1; i <= n; i++) print parts[i] }' <<<"$1" | sort -u
}

# man_tags PAGE SECTION: the tag lines (the line after .TP or .TQ) of the page's section SECTION
# (".SH SECTION", subsections included), one a line, as written.
man_tags() {
  local page=$1 section=$2
  awk -v section="$section" '
    /^\.SH / { line = $0; sub(/^\.SH +/, "", line); gsub(/"/, "", line); on = (line == section); next }
    on && /^\.T[PQ]/ { tag = 1; next }
    on && tag { tag = 0; print }' "$page"
}

# man_options PAGE SECTION: every option name in the tags of the page's section SECTION
# ("OPTIONS" by default), with roff's \- unescaped, one a line.
man_options() {
  man_tags "$1" "${2:-OPTIONS}" |
    awk '{ text = " " $0  # an option starts after a non-alphanumeric: not the \\-utf8 of non\\-utf8
           while (match(text, /[^A-Za-z0-9](\\-)+[A-Za-z0-9](\\-|[A-Za-z0-9])*/)) {
             name = substr(text, RSTART + 1, RLENGTH - 1); gsub(/\\-/, "-", name); print name
             text = substr(text, RSTART + RLENGTH) } }' | sort -u
}

# help_choices HELP_TEXT: for each option whose --help type declares a fixed set of values
# ("--format TEXT:{json,markdown}"), one line: the option's names (comma-separated), a space,
# then its values separated by spaces, sorted ("-f,--format json markdown").
help_choices() {
  awk '/^Options:/ { on = 1; next } /^[^ ]/ { on = 0 }
       on && /^  -/ && match($0, /:\{[^}]*\}/) {
         set = substr($0, RSTART + 2, RLENGTH - 3); n = split(set, values, ",")
         line = ""; for (i = 1; i <= n; i++) line = line " " values[i]
         print $1 line }' <<<"$1" |
    while read -r names values; do
      printf '%s %s\n' "$names" "$(tr ' ' '\n' <<<"$values" | sort | paste -sd ' ')"
    done
}
