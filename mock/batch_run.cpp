#include "mock/batch_run.hpp"

#include "mock/hash.hpp"

namespace hydrate::mock {
namespace {

using Milliseconds = std::chrono::milliseconds;

Json optional_time(const std::optional<SteadyClock::time_point>& point, const UnixClock& clock) {
  return point ? Json(clock.at(*point)) : Json(nullptr);
}

Json optional_text(const std::optional<std::string>& text) {
  return text ? Json(*text) : Json(nullptr);
}

// "batch_req_" and 24 letters and digits.
std::string batch_request_id(std::uint64_t hash) {
  return "batch_req_" + derived_alnum(derive(hash, 0xB7E0), 24);
}

std::string json_text(const std::string& text) {
  return Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

const char* batch_status_name(BatchStatus status) {
  switch (status) {
    case BatchStatus::validating:
      return "validating";
    case BatchStatus::failed:
      return "failed";
    case BatchStatus::in_progress:
      return "in_progress";
    case BatchStatus::finalizing:
      return "finalizing";
    case BatchStatus::completed:
      return "completed";
    case BatchStatus::expired:
      return "expired";
    case BatchStatus::cancelling:
      return "cancelling";
    case BatchStatus::cancelled:
      return "cancelled";
  }
  return "failed";
}

bool is_final(BatchStatus status) {
  return status == BatchStatus::failed || status == BatchStatus::completed ||
         status == BatchStatus::expired || status == BatchStatus::cancelled;
}

std::int64_t UnixClock::at(SteadyClock::time_point point) const {
  return wall_start +
         std::chrono::duration_cast<std::chrono::seconds>(point - steady_start).count();
}

BatchFate draw_fate(const BatchOptions& options, std::uint64_t batch_hash) {
  // Each fault draws its own number, so changing one rate leaves the others' choices alone.
  const auto draws = [batch_hash](double rate, std::uint64_t salt) {
    return rate > 0 && unit_interval(derive(batch_hash, salt)) < rate;
  };
  BatchFate fate;
  fate.fails = draws(options.rate_failed, 0xBA7C0);
  fate.expires = !fate.fails && draws(options.rate_expired, 0xBA7C1);
  if (fate.expires) fate.expires_after = 0.2 + 0.6 * unit_interval(derive(batch_hash, 0xBA7C2));
  fate.slow_finalizing = draws(options.rate_slow_finalizing, 0xBA7C3);
  return fate;
}

std::uint64_t line_hash(std::uint64_t batch_hash, std::size_t index) {
  return derive(batch_hash, 0x11E00000 + index);
}

bool draws_error_line(const BatchOptions& options, std::uint64_t batch_hash, std::size_t index) {
  return options.rate_error_line > 0 &&
         unit_interval(derive(line_hash(batch_hash, index), 0xE500)) < options.rate_error_line;
}

std::optional<SteadyClock::time_point> Batch::ends_at(const BatchOptions& options) const {
  switch (status) {
    case BatchStatus::validating:
      return created + Milliseconds(options.validating_ms);
    case BatchStatus::in_progress: {
      const double share = fate.expires ? fate.expires_after : 1.0;
      return *in_progress_at + Milliseconds(static_cast<std::int64_t>(
                                   share * static_cast<double>(options.processing_ms)));
    }
    case BatchStatus::finalizing:
      return *finalizing_at + Milliseconds(options.finalizing_ms) +
             Milliseconds(fate.slow_finalizing ? options.slow_finalizing_ms : 0);
    case BatchStatus::cancelling:
      return *cancelling_at + Milliseconds(options.cancelling_ms);
    default:
      return std::nullopt;
  }
}

bool Batch::enqueued_at(SteadyClock::time_point point) const {
  if (!in_progress_at || *in_progress_at > point) return false;
  for (const auto& end : {completed_at, expired_at, cancelled_at}) {
    if (end && *end <= point) return false;
  }
  return true;
}

Json batch_json(const Batch& batch, const UnixClock& clock) {
  Json errors = nullptr;
  if (!batch.errors.empty()) {
    Json data = Json::array();
    for (const BatchError& error : batch.errors) {
      data.push_back({{"code", error.code},
                      {"message", error.message},
                      {"param", optional_text(error.param)},
                      {"line", error.line ? Json(*error.line) : Json(nullptr)}});
    }
    errors = {{"object", "list"}, {"data", std::move(data)}};
  }
  const bool validated = batch.in_progress_at.has_value();
  const std::int64_t created_at = clock.at(batch.created);
  Json object = {{"id", batch.id}, {"object", "batch"}, {"endpoint", batch.endpoint}};
  if (validated && !batch.input.model.empty()) object["model"] = batch.input.model;
  object.update(
      Json{{"errors", std::move(errors)},
           {"input_file_id", batch.input_file_id},
           {"completion_window", batch.completion_window},
           {"status", batch_status_name(batch.status)},
           {"output_file_id", optional_text(batch.output_file_id)},
           {"error_file_id", optional_text(batch.error_file_id)},
           {"created_at", created_at},
           {"in_progress_at", optional_time(batch.in_progress_at, clock)},
           {"expires_at", validated ? Json(created_at + 24 * 3600) : Json(nullptr)},
           {"finalizing_at", optional_time(batch.finalizing_at, clock)},
           {"completed_at", optional_time(batch.completed_at, clock)},
           {"failed_at", optional_time(batch.failed_at, clock)},
           {"expired_at", optional_time(batch.expired_at, clock)},
           {"cancelling_at", optional_time(batch.cancelling_at, clock)},
           {"cancelled_at", optional_time(batch.cancelled_at, clock)},
           {"request_counts",
            {{"total", validated ? static_cast<std::int64_t>(batch.input.requests.size()) : 0},
             {"completed", batch.completed},
             {"failed", batch.failed}}},
           {"usage",
            {{"input_tokens", batch.usage.prompt_tokens},
             {"input_tokens_details", {{"cached_tokens", 0}}},
             {"output_tokens", batch.usage.completion_tokens},
             {"output_tokens_details", {{"reasoning_tokens", batch.usage.reasoning_tokens}}},
             {"total_tokens", batch.usage.prompt_tokens + batch.usage.completion_tokens}}},
           {"metadata", batch.metadata}});
  return object;
}

std::string response_line(const std::string& custom_id, std::uint64_t hash, int status,
                          const std::string& body) {
  return R"({"id":)" + json_text(batch_request_id(hash)) + R"(,"custom_id":)" +
         json_text(custom_id) + R"(,"response":{"status_code":)" + std::to_string(status) +
         R"(,"request_id":)" + json_text(request_id(hash)) + R"(,"body":)" + body +
         "},\"error\":null}\n";
}

std::string unanswered_line(const std::string& custom_id, std::uint64_t hash,
                            const std::string& code, const std::string& message) {
  return R"({"id":)" + json_text(batch_request_id(hash)) + R"(,"custom_id":)" +
         json_text(custom_id) + R"(,"response":null,"error":{"code":)" + json_text(code) +
         R"(,"message":)" + json_text(message) + "}}\n";
}

}  // namespace hydrate::mock
