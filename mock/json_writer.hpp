#pragma once
// JSON text written byte for byte as nlohmann::json's compact dump writes it (no indent,
// ensure_ascii off: '"', '\\', \b \f \n \r \t and \u00XX for the other C0 controls escaped,
// everything else as it is), but without its per-byte UTF-8 state machine and allocations: the
// answers, their schemas and the completion around them are most of what the endpoint writes.
// Anything this writer does not handle exactly (text that is not UTF-8, whose treatment is the
// dump's error handler's; binary values) makes it give up, and the caller dumps with nlohmann.
#include <cstddef>
#include <string>
#include <string_view>

#include "mock/schema_keywords.hpp"

namespace hydrate::mock {

// The first position from `i` on of a byte that a JSON string cannot hold as it is (a quote, a
// backslash, a control character) or that starts a UTF-8 sequence; text.size() when none does.
// Eight bytes at a time: most of a text is plain ASCII.
std::size_t skip_plain_json(std::string_view text, std::size_t i);

// Appends `text` as a JSON string; false (with `out` as it was) when `text` is not valid UTF-8.
bool append_json_string(std::string& out, std::string_view text);

// value.dump(-1, ' ', false, handler): with any handler the result is the same for valid UTF-8,
// and for the rest nlohmann's dump decides (it throws under the strict handler).
std::string dump_json(const Json& value,
                      Json::error_handler_t handler = Json::error_handler_t::strict);

}  // namespace hydrate::mock
