#include "core/pricing.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "core/resources.hpp"
#include "core/tsv.hpp"

namespace hydrate {
namespace {

std::optional<double> parse_price(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !(value >= 0) || value > 1e6) return std::nullopt;
  return value;
}

}  // namespace

PriceTable PriceTable::builtin() {
  PriceTable table;
  for (const auto& fields : parse_tsv(resources::find("data/prices.tsv").value_or(""))) {
    if (fields.size() != 5 && fields.size() != 8) continue;
    auto input = parse_price(fields[1]), cached = parse_price(fields[2]),
         output = parse_price(fields[3]);
    if (!input || !cached || !output) continue;
    table.prices_[fields[0]] = Price{*input, *cached, *output, fields[4]};
    if (fields.size() == 8) {
      auto b_input = parse_price(fields[5]), b_cached = parse_price(fields[6]),
           b_output = parse_price(fields[7]);
      if (b_input && b_cached && b_output) {
        table.batch_prices_[fields[0]] = Price{*b_input, *b_cached, *b_output, fields[4]};
      }
    }
  }
  return table;
}

Status PriceTable::set_from_text(const std::string& model, std::string_view text) {
  std::vector<std::optional<double>> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    parts.push_back(parse_price(trim(text.substr(start, comma - start))));
    start = comma + 1;
  }
  bool valid = (parts.size() == 2 || parts.size() == 3);
  for (const auto& part : parts) valid = valid && part.has_value();
  if (!valid) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("price of model '{}' must be INPUT,CACHED_INPUT,OUTPUT or "
                                  "INPUT,OUTPUT in USD per million tokens, got '{}'",
                                  model, text));
  }
  Price price;
  price.input_per_million = *parts[0];
  price.cached_input_per_million = parts.size() == 3 ? *parts[1] : *parts[0];
  price.output_per_million = *parts.back();
  price.taken = "config";
  prices_[model] = price;
  batch_prices_.erase(model);  // half of the new price from now on
  return ok_status();
}

Result<Price> PriceTable::find(const std::string& model, CallMode mode) const {
  auto it = prices_.find(model);
  if (it == prices_.end()) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("model '{}' has no price; add 'price.{} = INPUT,CACHED,OUTPUT' "
                                  "(USD per million tokens) to the config file",
                                  model, model));
  }
  if (mode == CallMode::online) return it->second;
  if (auto batch = batch_prices_.find(model); batch != batch_prices_.end()) return batch->second;
  Price half = it->second;
  half.input_per_million /= 2;
  half.cached_input_per_million /= 2;
  half.output_per_million /= 2;
  return half;
}

double call_cost_usd(const Price& price, const TokenUsage& usage) {
  double cached = static_cast<double>(std::min(usage.cached, usage.prompt));
  double fresh = static_cast<double>(usage.prompt) - cached;
  return (fresh * price.input_per_million + cached * price.cached_input_per_million +
          static_cast<double>(usage.completion) * price.output_per_million) /
         1e6;
}

std::int64_t prompt_token_bound(std::size_t bytes_sent, std::size_t messages) {
  constexpr std::size_t kFramingTokens = 8;  // role and separators; OpenAI's overhead is 3-4
  return static_cast<std::int64_t>(bytes_sent + kFramingTokens * (messages + 1));
}

double worst_case_call_usd(const Price& price, std::int64_t prompt_tokens,
                           std::int64_t max_output_tokens) {
  return (static_cast<double>(prompt_tokens) * price.input_per_million +
          static_cast<double>(max_output_tokens) * price.output_per_million) /
         1e6;
}

}  // namespace hydrate
