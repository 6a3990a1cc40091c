#pragma once
// Hostile answers for the "hostile" fault: what a compromised, buggy or prompt-injected model (or
// a proxy in front of it) can send back, to prove that the client rejects or cleans each one and
// never crashes or stores it. Each kind is chosen per request from the enabled ones by the fault
// hash, so a run is as reproducible as the other faults.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mock/chat_request.hpp"
#include "mock/faults.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

enum class HostileKind { huge, nested, non_utf8, control, fenced, injection, number };
constexpr std::array<HostileKind, 7> kAllHostileKinds = {
    HostileKind::huge,   HostileKind::nested,    HostileKind::non_utf8, HostileKind::control,
    HostileKind::fenced, HostileKind::injection, HostileKind::number};

// "huge", "nested", "non-utf8", "control", "fenced", "injection", "number": the --hostile-kinds
// names.
const char* hostile_kind_name(HostileKind kind);
std::optional<HostileKind> parse_hostile_kind(std::string_view name);

// The size of a "huge" answer's body: twice hydrate's default llm.max_response_bytes (1 MiB).
inline constexpr std::size_t kHugeAnswerBytes = 2u << 20;
// The phrases "injection" answers append to their text; tests look for them in stored content.
extern const std::array<std::string_view, 4> kInjectionPhrases;

struct HostileAnswer {
  Reply reply;          // the whole HTTP answer
  bool billed = false;  // whether a client can read its usage (the body is a chat completion
                        // it can parse), so the endpoint counts it as billed
  Usage usage;          // the usage the body reports, when billed
  std::string detail;   // for the x-mock-fault header, e.g. "hostile: control U+0000"
};

// The hostile answer of `kind` standing in for `completion` (the well-formed answer, whose content
// is `json` when the request asked for JSON):
// - huge: a chat completion of kHugeAnswerBytes whose content is one long string (schema-invalid
//   too, should it ever get through); not billed, since a capped client never reads its usage;
// - nested: content nested 10,000 arrays deep, or (one time in two) a body that is nothing but
//   100,000 nested arrays; billed only in the first case;
// - non-utf8: a body whose content string holds bytes that are not UTF-8 (a stray byte, an
//   overlong form, an encoded surrogate, a code point past U+10FFFF), or a \ud800 escape; not
//   billed;
// - control: the answer with a control character (NUL, BEL, ESC, vertical tab, C1 CSI) in the
//   middle of a string value; billed;
// - fenced: the answer wrapped in a ```json fence; billed;
// - injection: the answer with a prompt-injection phrase (kInjectionPhrases) appended to each
//   string value of 12 bytes or more that occurs once (so an MCQ answer still matches its
//   option); still schema-valid; billed;
// - number: the answer with an extra member holding a number too large for a double (1e400),
//   which some JSON parsers throw on rather than reject; billed.
// Kinds that need JSON content (control, injection, number) fall back to "fenced" around prose when
// the request did not ask for JSON.
HostileAnswer hostile_answer(HostileKind kind, const Completion& completion,
                             const std::optional<Json>& json, const ChatRequest& request,
                             std::uint64_t hash);

}  // namespace hydrate::mock
