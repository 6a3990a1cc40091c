#pragma once
// The SQLite store: one database file shared by any number of processes on one machine, in WAL
// mode with a busy timeout; writers take BEGIN IMMEDIATE so claims never deadlock.
#include <memory>
#include <string>

#include "core/store/store.hpp"

namespace hydrate::store {

// Opens (creating when allowed) the SQLite database at path.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const OpenOptions& options);

}  // namespace hydrate::store
