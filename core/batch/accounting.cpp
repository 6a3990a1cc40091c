#include "core/batch/accounting.hpp"

#include <algorithm>
#include <iterator>

namespace hydrate::batch {

std::string status_label(std::string_view provider_status, store::BatchState state) {
  if (!provider_status.empty()) return std::string(provider_status);
  return store::to_string(state);
}

Savings savings_of(const std::vector<CallTotals>& calls, const PriceTable& prices) {
  Savings out;
  for (const auto& c : calls) {
    if (c.mode != CallMode::batch) continue;
    auto online = prices.find(c.model, CallMode::online);
    if (!online) {
      out.unpriced.push_back(c.model);
      continue;
    }
    out.calls += c.calls;
    out.tokens.prompt += c.tokens.prompt;
    out.tokens.completion += c.tokens.completion;
    out.tokens.cached += c.tokens.cached;
    out.tokens.reasoning += c.tokens.reasoning;
    out.batch_cost_usd += c.cost_usd;
    out.online_cost_usd += call_cost_usd(*online, c.tokens);
  }
  out.saving_usd = out.online_cost_usd - out.batch_cost_usd;
  return out;
}

ModeSplit split_by_mode(const store::OpsFacts& facts, const PriceTable& prices) {
  ModeSplit out;
  for (const auto& root : facts.roots)
    ++(root.mode == CallMode::batch ? out.batch : out.online).roots;
  for (const auto& c : facts.calls) {
    ModeFigures& figures = c.mode == CallMode::batch ? out.batch : out.online;
    figures.calls += c.calls;
    figures.cost_usd += c.cost_usd;
  }
  out.savings = savings_of(facts.calls, prices);
  for (const char* status : kStatuses) {
    auto it = facts.batches.find(status);
    out.batches.emplace_back(status, it == facts.batches.end() ? 0 : it->second);
  }
  for (const auto& [status, count] : facts.batches) {
    bool listed = std::any_of(std::begin(kStatuses), std::end(kStatuses),
                              [&](const char* known) { return status == known; });
    if (!listed) out.batches.emplace_back(status, count);
  }
  return out;
}

}  // namespace hydrate::batch
