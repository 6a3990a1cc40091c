#pragma once
// The call a step makes, built the same way whether it is sent online or as a line of a batch:
// the step's input decoded, its model (the root's, else the endpoint's default) priced in the
// root's mode, its prompt rendered, and the chat request shaped by the model's profile.
#include "core/cascade.hpp"
#include "core/engine/worker.hpp"
#include "core/llm/chat_protocol.hpp"
#include "core/pricing.hpp"
#include "core/prompts.hpp"

namespace hydrate::engine {

struct StepRequest {
  StepInput input;
  std::string model;
  Price price;  // in the root's mode: a batch line is billed at the batch price
  RenderedStep rendered;
  llm::ChatRequest request;  // output mode: the operator's override, else the profile's
};

// What a request sends as its prompt: the messages and the schema, in bytes. The budget's worst
// case and the rate limit's reservation are both bounded by it.
std::size_t prompt_bytes(const llm::ChatRequest& request);

// The request's worst-case cost at price: every prompt byte a token, and max_tokens of output.
double worst_case_usd(const llm::ChatRequest& request, const Price& price);

// What the model is told when its answer was cut short.
inline constexpr const char* kCutShortReason =
    "your answer was cut off; answer again, more concisely";

// Turns request into the step's next attempt after a rejected answer: the system and user
// messages, the rejected answer (when there is one to show) and the reason, only the latest.
void ask_again(llm::ChatRequest& request, const std::string& reason,
               const std::string& rejected_answer);

// Why the step's last attempt was rejected, as ask_again tells the model, when its last error
// says so ("invalid answer: …", or an answer cut short); nullopt otherwise. A batch line asks
// again from it, the rejected answer not being kept.
std::optional<std::string> rejection_of(const Job& job);

// invalid_input when the input does not decode or the model has no price.
Result<StepRequest> build_step_request(const Job& job, const Endpoint& endpoint,
                                       const PromptSet& prompts, const PriceTable& prices);

}  // namespace hydrate::engine
