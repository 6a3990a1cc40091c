#pragma once
// Failpoints: named places in the code where a test makes the process die exactly as `kill -9`
// would, to prove that a crash there loses and duplicates nothing. HYDRATE_FAILPOINT=NAME arms
// one; the process kills itself (SIGKILL) the first time it reaches it. Unset, a failpoint costs
// one comparison. The names are listed in CONTRIBUTING.md.
namespace hydrate {

void failpoint(const char* name);

}  // namespace hydrate
