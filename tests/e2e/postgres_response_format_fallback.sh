#!/usr/bin/env bash
# response_format_fallback.sh on PostgreSQL: the mode learnt is shared through the database.
E2E_BACKEND=postgres
# shellcheck source=response_format_fallback.sh
source "$(dirname "${BASH_SOURCE[0]}")/response_format_fallback.sh"
