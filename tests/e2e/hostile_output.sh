#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Hostile model output, on SQLite: an endpoint that answers about a third of the requests with
# something hostile — 2 MiB answers, JSON nested up to 100,000 deep, bytes that are not UTF-8, NUL and
# terminal escapes, markdown fences, prompt-injection text — still yields a complete tree. The
# worker never crashes; each hostile answer is cut (the 1 MiB llm.max_response_bytes), refused
# with a clear error and asked again, or cleaned (a fence) or kept as inert text (injection); no
# stored text holds invalid UTF-8, a control character or a fence. See lib/hostile.bash.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/hostile.bash"
e2e_init hostile_output

hostile_run
hostile_assert
