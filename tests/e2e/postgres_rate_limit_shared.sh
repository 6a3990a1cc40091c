#!/usr/bin/env bash
# rate_limit_shared.sh on PostgreSQL: one bucket for workers on any number of machines.
E2E_BACKEND=postgres
# shellcheck source=rate_limit_shared.sh
source "$(dirname "${BASH_SOURCE[0]}")/rate_limit_shared.sh"
