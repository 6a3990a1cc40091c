#include "core/failpoint.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace hydrate {

void failpoint(const char* name) {
  static const char* const armed = std::getenv("HYDRATE_FAILPOINT");
  if (armed != nullptr && std::strcmp(armed, name) == 0) std::raise(SIGKILL);
}

}  // namespace hydrate
