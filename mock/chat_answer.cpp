#include "mock/chat_answer.hpp"

#include <algorithm>

#include "mock/answer.hpp"
#include "mock/flavor.hpp"
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

void name_fault(Reply& reply, const std::string& what) {
  reply.headers = {{"x-mock-fault", what}};
}

}  // namespace

WrittenAnswer write_answer(const EndpointOptions& options, const ChatRequest& chat, Fault fault,
                           std::uint64_t hash, std::int64_t created) {
  const FlavorTraits traits = traits_of(options.flavor);
  WrittenAnswer out;
  const std::uint64_t content = content_hash(options.seed, chat);
  if (fault == Fault::none && draws_wrong_language(options.wrong_language_rate, hash)) {
    out.wrong_language = other_language(requested_language(chat), hash);
  }
  const Answer written = out.wrong_language ? compose_answer(chat, content, *out.wrong_language)
                                            : compose_answer(chat, content);
  if (out.wrong_language) {
    name_fault(out.reply, std::string("wrong-language: ") + language_code(*out.wrong_language));
  }
  const std::optional<std::int64_t> max_tokens =
      traits.reads_max_completion_tokens ? chat.max_tokens : chat.legacy_max_tokens;
  Completion completion;
  completion.id = completion_id(hash);
  completion.created = created;
  completion.model = chat.model;
  completion.content = written.content;
  completion.usage_shape = !options.report_usage  ? UsageShape::omitted
                           : traits.usage_details ? UsageShape::detailed
                                                  : UsageShape::plain;
  if (fault == Fault::hostile) {
    const auto& kinds = options.hostile_kinds;
    const HostileKind kind = kinds[derive(hash, 0x405) % kinds.size()];
    HostileAnswer hostile = hostile_answer(kind, completion, written.json, chat, hash);
    out.fault = fault;
    out.hostile = kind;
    if (hostile.billed) out.billed = hostile.usage;
    out.reply = std::move(hostile.reply);
    out.reply.headers.emplace_back("x-mock-fault", "hostile: " + hostile.detail);
    return out;
  }
  if (fault == Fault::runaway) {
    // Only a grammar-constrained json_schema answer can run away inside a string.
    std::optional<RunawayAnswer> runaway;
    if (traits.grammar_output && chat.format == ResponseFormat::json_schema && written.json) {
      runaway = run_away(*written.schema, *written.json, max_tokens.value_or(kContextTokens));
    }
    if (runaway) {
      completion.content = runaway->content;
      completion.finish_reason = "length";
      name_fault(out.reply, "runaway: " + runaway->property);
    } else {
      fault = Fault::none;
    }
  }
  if (fault == Fault::invalid) {
    if (written.json) {
      const BrokenAnswer broken = break_schema(*written.schema, *written.json, hash);
      completion.content = broken.value.dump(-1, ' ', false, Json::error_handler_t::replace);
      name_fault(out.reply, "invalid: " + broken.breach);
    } else {
      completion.content.clear();
      name_fault(out.reply, "invalid: empty content");
    }
  }
  if (fault == Fault::truncated) {
    completion.content = truncated_content(completion.content, hash);
    completion.finish_reason = "length";
  }
  // A reasoning model thinks first, inside the same budget: what is left bounds the answer.
  const std::int64_t reasoning =
      traits.reasoning_rules && is_reasoning_model(chat.model) ? reasoning_tokens_for(content) : 0;
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
  out.fault = fault;
  const std::string body = completion_body(completion);
  if (fault == Fault::malformed) {
    Reply malformed = malformed_reply(body, hash);
    malformed.headers = std::move(out.reply.headers);
    out.reply = std::move(malformed);
    return out;
  }
  out.billed = completion.usage;
  out.reply.status = 200;
  out.reply.body = body;
  return out;
}

std::variant<ChatRequest, ApiError> read_chat_body(const EndpointOptions& options,
                                                   std::string_view body) {
  const RequestRules rules{"", traits_of(options.flavor).strict_schema_rules, options.formats};
  auto parsed = parse_chat_request(body, rules);
  if (const auto* chat = std::get_if<ChatRequest>(&parsed)) {
    if (auto refusal = refuse_reasoning_parameters(options.flavor, *chat)) return *refusal;
  }
  return parsed;
}

}  // namespace hydrate::mock
