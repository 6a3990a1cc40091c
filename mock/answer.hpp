#pragma once
// What the model "writes" for a request: JSON that follows the request's schema (from
// response_format, or one spelled out in the prompt), a JSON object when the prompt asks for JSON,
// plain prose otherwise. Deterministic: the same request and seed give the same answer.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mock/chat_request.hpp"
#include "mock/lexicon.hpp"

namespace hydrate::mock {

struct Answer {
  std::string content;       // choices[0].message.content
  std::optional<Json> json;  // the content as JSON; empty for prose
  // The schema the content follows, never null: the request's own (valid while the request is),
  // the one spelled out in the prompt (held by prompt_schema), or an empty object when none.
  const Json* schema = nullptr;
  std::unique_ptr<const Json> prompt_schema;  // on the heap, so `schema` survives a move
};

// The hash every content choice derives from: the seed, the messages and the response format.
std::uint64_t content_hash(std::uint64_t seed, const ChatRequest& request);

// The language the request asks for, as hydrate's system prompt says it: `in the language with
// code "hi"` in any message (the first such phrase). English when no message says it or the code
// is not one the endpoint writes (en, hi, fr, es).
Language requested_language(const ChatRequest& request);

// The answer, written in the requested language.
Answer compose_answer(const ChatRequest& request, std::uint64_t hash);
// The answer written in `language`, whatever the request asked for (the wrong-language fault).
Answer compose_answer(const ChatRequest& request, std::uint64_t hash, Language language);

// The first JSON schema written out in a text (an object with "properties", "$schema" or
// "type": "object"); empty when the text has none.
std::optional<Json> find_schema_in_text(std::string_view text);

}  // namespace hydrate::mock
