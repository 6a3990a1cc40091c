#pragma once
// Checks on text that comes from outside — a model's answer, an HTTP body — before it is parsed
// or stored. They exist because such text may be hostile: nested deep enough to exhaust a
// recursive parser's stack, not UTF-8 (which PostgreSQL refuses in a text column), or carrying
// control characters (NUL, terminal escapes) that no stored text may hold. Pure.
#include <optional>
#include <string>
#include <string_view>

namespace hydrate {

// How deep `text` nests JSON arrays and objects, brackets inside strings not counted. Counting
// stops as soon as the depth passes `limit` (the result is then limit + 1), so one linear scan
// bounds any input before a parser sees it. Text that is not JSON gives a meaningless but bounded
// number; the parser rejects it afterwards.
int json_nesting_depth(std::string_view text, int limit);

// Whether `text` is well-formed UTF-8 (RFC 3629): no stray continuation bytes, no overlong
// forms, no UTF-16 surrogates (U+D800–U+DFFF), nothing past U+10FFFF.
bool is_valid_utf8(std::string_view text);

// `text` with every byte that does not start a well-formed UTF-8 sequence replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view text);

// The first control character in `text` that `allowed` does not list: C0 (U+0000–U+001F, NUL
// included), DEL (U+007F) and C1 (U+0080–U+009F, which includes the 8-bit terminal escape
// U+009B). nullopt when there is none. `text` must be valid UTF-8; `allowed` holds ASCII only.
std::optional<char32_t> first_control_character(std::string_view text, std::string_view allowed);

// `text` with every CRLF and every lone CR turned into LF.
std::string normalize_newlines(std::string_view text);

}  // namespace hydrate
