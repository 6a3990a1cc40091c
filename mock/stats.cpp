#include "mock/stats.hpp"

#include <nlohmann/json.hpp>

namespace hydrate::mock {

void Stats::record(int status, std::optional<Fault> fault) {
  const std::lock_guard lock(mutex_);
  ++total_;
  ++by_status_[status];
  if (fault) {
    ++by_fault_[static_cast<std::size_t>(*fault)];
  }
}

void Stats::record_hostile(HostileKind kind) {
  const std::lock_guard lock(mutex_);
  ++by_hostile_[static_cast<std::size_t>(kind)];
}

void Stats::record_wrong_language(Language language) {
  const std::lock_guard lock(mutex_);
  ++by_wrong_language_[static_cast<std::size_t>(language)];
}

void Stats::bill(const Usage& usage) {
  const std::lock_guard lock(mutex_);
  prompt_tokens_ += usage.prompt_tokens;
  completion_tokens_ += usage.completion_tokens;
  reasoning_tokens_ += usage.reasoning_tokens;
  ++billed_calls_;
}

void Stats::record_admitted(std::int64_t tokens) {
  const std::lock_guard lock(mutex_);
  ++admitted_requests_;
  admitted_tokens_ += tokens;
}

void Stats::record_limited(LimitKind kind) {
  const std::lock_guard lock(mutex_);
  ++(kind == LimitKind::requests ? refused_requests_ : refused_tokens_);
}

void Stats::record_loading() {
  const std::lock_guard lock(mutex_);
  ++loading_;
}

void Stats::record_batch_created() {
  const std::lock_guard lock(mutex_);
  ++batches_created_;
}

void Stats::record_batch_end(const std::string& status) {
  const std::lock_guard lock(mutex_);
  ++batches_by_status_[status];
}

void Stats::record_batch_line(BatchLineKind kind, const std::optional<Usage>& billed) {
  const std::lock_guard lock(mutex_);
  ++batch_lines_[static_cast<std::size_t>(kind)];
  if (billed) {
    batch_billed_.prompt_tokens += billed->prompt_tokens;
    batch_billed_.completion_tokens += billed->completion_tokens;
    batch_billed_.reasoning_tokens += billed->reasoning_tokens;
    ++batch_billed_calls_;
  }
}

nlohmann::ordered_json Stats::batches_json() const {
  nlohmann::ordered_json by_status = nlohmann::ordered_json::object();
  for (const char* status : {"completed", "failed", "expired", "cancelled"}) {
    const auto found = batches_by_status_.find(status);
    by_status[status] = found == batches_by_status_.end() ? 0 : found->second;
  }
  const auto lines = [this](BatchLineKind kind) {
    return batch_lines_[static_cast<std::size_t>(kind)];
  };
  return {{"created", batches_created_},
          {"byStatus", by_status},
          {"lines",
           {{"answered", lines(BatchLineKind::answered)},
            {"errors", lines(BatchLineKind::refused) + lines(BatchLineKind::server_error) +
                           lines(BatchLineKind::expired)},
            {"refused", lines(BatchLineKind::refused)},
            {"serverErrors", lines(BatchLineKind::server_error)},
            {"expired", lines(BatchLineKind::expired)}}},
          {"billed",
           {{"promptTokens", batch_billed_.prompt_tokens},
            {"completionTokens", batch_billed_.completion_tokens},
            {"reasoningTokens", batch_billed_.reasoning_tokens},
            {"calls", batch_billed_calls_}}}};
}

std::string Stats::to_json() const {
  const std::lock_guard lock(mutex_);
  nlohmann::ordered_json by_status = nlohmann::ordered_json::object();
  for (const auto& [status, count] : by_status_) {
    by_status[std::to_string(status)] = count;
  }
  nlohmann::ordered_json by_fault = nlohmann::ordered_json::object();
  for (Fault fault : kAllFaults) {
    by_fault[fault_name(fault)] = by_fault_[static_cast<std::size_t>(fault)];
  }
  nlohmann::ordered_json by_hostile = nlohmann::ordered_json::object();
  for (HostileKind kind : kAllHostileKinds) {
    by_hostile[hostile_kind_name(kind)] = by_hostile_[static_cast<std::size_t>(kind)];
  }
  nlohmann::ordered_json by_wrong_language = nlohmann::ordered_json::object();
  for (Language language : kAllLanguages) {
    by_wrong_language[language_code(language)] =
        by_wrong_language_[static_cast<std::size_t>(language)];
  }
  const nlohmann::ordered_json stats = {
      {"requests",
       {{"total", total_},
        {"byStatus", by_status},
        {"byFault", by_fault},
        {"byHostile", by_hostile},
        {"byWrongLanguage", by_wrong_language},
        {"loading", loading_}}},
      {"limiter",
       {{"admitted", {{"requests", admitted_requests_}, {"tokens", admitted_tokens_}}},
        {"refused",
         {{"total", refused_requests_ + refused_tokens_},
          {"requests", refused_requests_},
          {"tokens", refused_tokens_}}}}},
      {"billed",
       {{"promptTokens", prompt_tokens_},
        {"completionTokens", completion_tokens_},
        {"reasoningTokens", reasoning_tokens_},
        {"cachedTokens", 0},
        {"calls", billed_calls_}}},
      {"batches", batches_json()}};
  return stats.dump();
}

void SeenModels::note(const std::string& model) {
  constexpr std::size_t kMaxModels = 1000;  // a client inventing names cannot grow this forever
  const std::lock_guard lock(mutex_);
  if (models_.size() < kMaxModels) {
    models_.insert(model);
  }
}

std::vector<std::string> SeenModels::list() const {
  const std::lock_guard lock(mutex_);
  return {models_.begin(), models_.end()};
}

std::string SeenModels::to_json() const {
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  for (const auto& model : list()) {
    data.push_back({{"id", model},
                    {"object", "model"},
                    {"created", 1700000000},
                    {"owned_by", "hydrate-mock"}});
  }
  return nlohmann::ordered_json{{"object", "list"}, {"data", data}}.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace hydrate::mock
