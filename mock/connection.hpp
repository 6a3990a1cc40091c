#pragma once
// Ending a connection without an answer, as a failing proxy would.
#include <httplib.h>

namespace hydrate::mock {

// Finds the socket `request` came on by its peer address and shuts it down (httplib then fails to
// write and closes it); false when it cannot be found, and the caller answers instead.
bool drop_connection(const httplib::Request& request);

}  // namespace hydrate::mock
