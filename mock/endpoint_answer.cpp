// Endpoint::answer: the completion for a request that passed every check, with the faults that
// change its content, the reasoning tokens of reasoning models and each flavor's usage.
#include <ctime>

#include "mock/answer.hpp"
#include "mock/endpoint.hpp"
#include "mock/hash.hpp"
#include "mock/runaway.hpp"
#include "mock/schema_breaker.hpp"
#include "mock/utf8.hpp"

namespace hydrate::mock {
namespace {

// How far a string runs away when the request sets no limit: a local server's context size.
constexpr std::int64_t kContextTokens = 4096;

// The hidden reasoning a reasoning model spends before it answers: 64 to 512 tokens, fixed by
// the request's content.
std::int64_t reasoning_tokens_for(std::uint64_t content_hash) {
  return pick_in_range(derive(content_hash, 0x5EA5), 64, 512);
}

}  // namespace

int Endpoint::answer(const ChatRequest& chat, Fault& fault, std::uint64_t hash,
                     httplib::Response& response) {
  const std::uint64_t content = content_hash(options_.seed, chat);
  const std::optional<Language> wrong_language =
      fault == Fault::none && draws_wrong_language(options_.wrong_language_rate, hash)
          ? std::optional(other_language(requested_language(chat), hash))
          : std::nullopt;
  const Answer written = wrong_language ? compose_answer(chat, content, *wrong_language)
                                        : compose_answer(chat, content);
  if (wrong_language) {
    stats_.record_wrong_language(*wrong_language);
    response.set_header("x-mock-fault",
                        std::string("wrong-language: ") + language_code(*wrong_language));
  }
  const std::optional<std::int64_t> max_tokens =
      traits_.reads_max_completion_tokens ? chat.max_tokens : chat.legacy_max_tokens;
  Completion completion;
  completion.id = completion_id(hash);
  completion.created = static_cast<std::int64_t>(std::time(nullptr));
  completion.model = chat.model;
  completion.content = written.content;
  completion.usage_shape = !options_.report_usage  ? UsageShape::omitted
                           : traits_.usage_details ? UsageShape::detailed
                                                   : UsageShape::plain;
  if (fault == Fault::hostile) {
    const auto& kinds = options_.hostile_kinds;
    const HostileKind kind = kinds[derive(hash, 0x405) % kinds.size()];
    const HostileAnswer hostile = hostile_answer(kind, completion, written.json, chat, hash);
    stats_.record_hostile(kind);
    if (hostile.billed) stats_.bill(hostile.usage);
    response.set_header("x-mock-fault", "hostile: " + hostile.detail);
    send_reply(response, hostile.reply);
    return hostile.reply.status;
  }
  if (fault == Fault::runaway) {
    // Only a grammar-constrained json_schema answer can run away inside a string.
    std::optional<RunawayAnswer> runaway;
    if (traits_.grammar_output && chat.format == ResponseFormat::json_schema && written.json) {
      runaway = run_away(written.schema, *written.json, max_tokens.value_or(kContextTokens));
    }
    if (runaway) {
      completion.content = runaway->content;
      completion.finish_reason = "length";
      response.set_header("x-mock-fault", "runaway: " + runaway->property);
    } else {
      fault = Fault::none;
    }
  }
  if (fault == Fault::invalid) {
    if (written.json) {
      const BrokenAnswer broken = break_schema(written.schema, *written.json, hash);
      completion.content = broken.value.dump(-1, ' ', false, Json::error_handler_t::replace);
      response.set_header("x-mock-fault", "invalid: " + broken.breach);
    } else {
      completion.content.clear();
      response.set_header("x-mock-fault", "invalid: empty content");
    }
  }
  if (fault == Fault::truncated) {
    completion.content = truncated_content(completion.content, hash);
    completion.finish_reason = "length";
  }
  // A reasoning model thinks first, inside the same budget: what is left bounds the answer.
  const std::int64_t reasoning =
      traits_.reasoning_rules && is_reasoning_model(chat.model) ? reasoning_tokens_for(content) : 0;
  std::optional<std::int64_t> visible_budget = max_tokens;
  if (max_tokens && reasoning > 0) {
    visible_budget = std::max<std::int64_t>(0, *max_tokens - reasoning);
  }
  if (visible_budget && tokens_for(completion.content) > *visible_budget) {
    completion.content =
        take_chars(completion.content, static_cast<std::size_t>(*visible_budget) * 4);
    completion.finish_reason = "length";
  }
  const std::int64_t spent_reasoning = max_tokens ? std::min(reasoning, *max_tokens) : reasoning;
  completion.usage = {prompt_tokens(chat), tokens_for(completion.content) + spent_reasoning,
                      spent_reasoning};
  const std::string body = completion_body(completion);
  if (fault == Fault::malformed) {
    send_reply(response, malformed_reply(body, hash));
    return 200;
  }
  stats_.bill(completion.usage);
  response.set_content(body, "application/json");
  return 200;
}

}  // namespace hydrate::mock
