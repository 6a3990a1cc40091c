#pragma once
// The Store implemented over SQL, shared by the SQLite and PostgreSQL drivers.
#include <functional>
#include <memory>
#include <string>

#include "core/store/sql_connection.hpp"
#include "core/store/store.hpp"

namespace hydrate::store {

// Opens a store over the connection connect() makes; `what` names the database in errors
// (never with a password). The kind of an OpenFailure connect() throws, unavailable for any
// other exception.
Result<std::unique_ptr<Store>> open_sql_store(
    std::function<std::unique_ptr<sql::Connection>()> connect, const std::string& what,
    const OpenOptions& options);

}  // namespace hydrate::store
