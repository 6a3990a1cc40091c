#pragma once
// One chat request's answer as the model writes it, apart from HTTP: the completion (or the
// malformed or hostile body standing in for it) and what /stats counts about it. The online route
// and every line of a batch answer through it, so a body gets the same content either way.
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "mock/chat_request.hpp"
#include "mock/faults.hpp"
#include "mock/hostile.hpp"
#include "mock/lexicon.hpp"
#include "mock/options.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

struct WrittenAnswer {
  // Status 200 and the body; headers hold x-mock-fault when the answer names its fault itself
  // (invalid, hostile, runaway, wrong-language).
  Reply reply;
  Fault fault = Fault::none;  // the fault that took effect (a runaway needs a string to run in)
  std::optional<Usage>
      billed;  // empty when no client could read the usage (malformed, some hostile)
  std::optional<HostileKind> hostile;
  std::optional<Language> wrong_language;
};

// The answer to `chat`, a request that passed every check, under `fault` (truncated, invalid,
// malformed, hostile and runaway change it; any other fault is answered as none). The content
// follows content_hash(options.seed, chat) alone; `hash` decides the rest (the id, which fault
// detail, a wrong language). `created` is the completion's time stamp.
WrittenAnswer write_answer(const EndpointOptions& options, const ChatRequest& chat, Fault fault,
                           std::uint64_t hash, std::int64_t created);

// The request in `body` as POST /v1/chat/completions reads it under options.flavor, or the 400
// it answers: the body's own checks (parse_chat_request) and the reasoning models' parameters.
std::variant<ChatRequest, ApiError> read_chat_body(const EndpointOptions& options,
                                                   std::string_view body);

}  // namespace hydrate::mock
