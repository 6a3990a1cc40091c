#pragma once
// Model prices (USD per million tokens) and the cost of a call from its usage.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/model.hpp"
#include "core/result.hpp"

namespace hydrate {

struct Price {
  double input_per_million = 0;
  double cached_input_per_million = 0;
  double output_per_million = 0;
  std::string taken;  // the date the price was published, or "config"
};

// The Batch API's completion window: the longest one batch may take.
inline constexpr double kBatchWindowMins = 24 * 60;

class PriceTable {
 public:
  static PriceTable builtin();  // data/prices.tsv embedded at build time
  // Adds or replaces a model's price; "INPUT,CACHED,OUTPUT" or "INPUT,OUTPUT" (cached = input).
  // Its batch price becomes half of it.
  Status set_from_text(const std::string& model, std::string_view text);
  // The model's price in that mode; invalid_input naming the model when it has none. The batch
  // price is the table's batch columns, else half of each online price (OpenAI's rule).
  Result<Price> find(const std::string& model, CallMode mode = CallMode::online) const;
  const std::map<std::string, Price>& all() const { return prices_; }

 private:
  std::map<std::string, Price> prices_;
  std::map<std::string, Price> batch_prices_;  // the models data/prices.tsv gives them for
};

// (prompt - cached) x input + cached x cached_input + completion x output, per million tokens.
double call_cost_usd(const Price& price, const TokenUsage& usage);

// An upper bound of a call's prompt tokens from the bytes it sends (message texts and the answer
// schema): a byte-level BPE token covers at least one byte, and each message adds a few tokens of
// framing.
std::int64_t prompt_token_bound(std::size_t bytes_sent, std::size_t messages);

// The most one call can cost: every prompt token at the full input price (no cache discount) and
// max_output_tokens of output, which the endpoint never passes.
double worst_case_call_usd(const Price& price, std::int64_t prompt_tokens,
                           std::int64_t max_output_tokens);

}  // namespace hydrate
