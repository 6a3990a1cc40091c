#include "core/engine/step_request.hpp"

namespace hydrate::engine {

std::size_t prompt_bytes(const llm::ChatRequest& request) {
  std::size_t bytes = request.json_schema.size();
  for (const auto& message : request.messages) bytes += message.content.size();
  return bytes;
}

double worst_case_usd(const llm::ChatRequest& request, const Price& price) {
  return worst_case_call_usd(price,
                             prompt_token_bound(prompt_bytes(request), request.messages.size()),
                             request.max_tokens);
}

void ask_again(llm::ChatRequest& request, const std::string& reason,
               const std::string& rejected_answer) {
  request.messages.resize(2);  // keep system and user; show only the latest rejection
  if (!rejected_answer.empty()) {
    request.messages.push_back({"assistant", reask_answer(rejected_answer)});
  }
  request.messages.push_back({"user", reask_prompt(reason)});
}

std::optional<std::string> rejection_of(const Job& job) {
  constexpr std::string_view kInvalid = "invalid answer: ";
  const std::string& error = job.last_error;
  if (error.rfind(kInvalid, 0) == 0) return error.substr(kInvalid.size());
  if (error.rfind(llm::kCutShort, 0) == 0) return std::string(kCutShortReason);
  return std::nullopt;
}

Result<StepRequest> build_step_request(const Job& job, const Endpoint& endpoint,
                                       const PromptSet& prompts, const PriceTable& prices) {
  auto input = decode_step_input(job.input);
  if (!input) return input.error();
  StepRequest step;
  step.input = std::move(*input);
  step.model = step.input.options.model.empty() ? endpoint.default_model : step.input.options.model;
  auto price = prices.find(step.model, step.input.options.mode);
  if (!price) return price.error();
  step.price = *price;
  step.rendered = prompts.render(job.kind, step.input);
  llm::ChatRequest& request = step.request;
  request.model = step.model;
  request.messages = {{"system", step.rendered.system}, {"user", step.rendered.user}};
  request.max_tokens = step.rendered.max_tokens;
  const llm::ModelProfile profile = endpoint.profiles.find(endpoint.flavor, step.model);
  request.use_max_completion_tokens =
      endpoint.max_completion_tokens.value_or(profile.max_completion_tokens);
  request.send_temperature = profile.temperature;
  request.mode = endpoint.output_mode.value_or(profile.output_mode);
  request.dialect = profile.dialect;
  request.schema_name = step.rendered.schema_name;
  request.json_schema = step.rendered.schema_json;
  return step;
}

}  // namespace hydrate::engine
