#include "mock/batch_api.hpp"

#include <algorithm>
#include <array>

#include "mock/batch_replies.hpp"
#include "mock/chat_request.hpp"
#include "mock/hash.hpp"

namespace hydrate::mock {
namespace {

using Milliseconds = std::chrono::milliseconds;

constexpr std::array<const char*, 8> kBatchEndpoints = {
    "/v1/responses",   "/v1/chat/completions",   "/v1/embeddings",   "/v1/completions",
    "/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos"};
constexpr const char* kChatEndpoint = "/v1/chat/completions";

Reply no_such_batch(const std::string& id) {
  return request_error(404, "No such Batch object: " + id, "batch_id");
}

// The metadata's problem (a 400 to send), or nothing: an object of at most 16 string values,
// keys of at most 64 characters and values of at most 512.
std::optional<Reply> metadata_problem(const Json& metadata) {
  if (metadata.is_null()) return std::nullopt;
  if (!metadata.is_object()) return wrong_parameter_type("metadata", "an object");
  if (metadata.size() > 16) {
    return request_error(
        400,
        "Invalid 'metadata': too many properties. Expected an object with at most 16 "
        "properties, but got an object with " +
            std::to_string(metadata.size()) + " properties instead.",
        "metadata", "object_above_max_properties");
  }
  for (const auto& [key, value] : metadata.items()) {
    if (key.size() > 64) {
      return request_error(
          400,
          "Invalid 'metadata': string too long. Expected a key with maximum length "
          "64, but got a key of length " +
              std::to_string(key.size()) + " instead.",
          "metadata", "string_above_max_length");
    }
    if (!value.is_string()) return wrong_parameter_type("metadata." + key, "a string");
    if (value.get_ref<const std::string&>().size() > 512) {
      return request_error(400,
                           "Invalid 'metadata." + key +
                               "': string too long. Expected a string with maximum length 512.",
                           "metadata." + key, "string_above_max_length");
    }
  }
  return std::nullopt;
}

// output_expires_after's seconds, or the 400 to send.
std::variant<std::optional<std::int64_t>, Reply> read_output_expiry(const Json& body) {
  const auto found = body.find("output_expires_after");
  if (found == body.end() || found->is_null()) return std::optional<std::int64_t>();
  if (!found->is_object()) return wrong_parameter_type("output_expires_after", "an object");
  const auto anchor = found->find("anchor");
  if (anchor == found->end()) return missing_parameter("output_expires_after.anchor");
  if (*anchor != "created_at") {
    return request_error(400,
                         "Invalid 'output_expires_after.anchor': only 'created_at' is supported.",
                         "output_expires_after.anchor", "invalid_value");
  }
  const auto seconds = found->find("seconds");
  if (seconds == found->end()) return missing_parameter("output_expires_after.seconds");
  if (!seconds->is_number_integer() || *seconds < 3600 || *seconds > 2592000) {
    return request_error(400,
                         "Invalid 'output_expires_after.seconds': expected an integer between 3600 "
                         "and 2592000.",
                         "output_expires_after.seconds", "invalid_value");
  }
  return std::optional<std::int64_t>(seconds->get<std::int64_t>());
}

std::string hex_id(std::uint64_t hash, std::size_t length) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out += kHex[derive(hash, i) % kHex.size()];
  return out;
}

// 0 .. n-1 in an order drawn from the hash (Fisher-Yates): outputs follow no input order.
std::vector<std::size_t> drawn_order(std::size_t n, std::uint64_t hash) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  for (std::size_t i = n; i > 1; --i) {
    std::swap(order[i - 1], order[derive(hash, 0x0D0 + i) % i]);
  }
  return order;
}

}  // namespace

BatchApi::BatchApi(BatchOptions options, std::uint64_t seed, LineAnswerer answer, Stats& stats,
                   std::function<SteadyClock::time_point()> clock)
    : options_(std::move(options)),
      seed_(seed),
      answer_(std::move(answer)),
      stats_(stats),
      clock_(std::move(clock)),
      unix_clock_{static_cast<std::int64_t>(std::time(nullptr)), clock_()},
      files_(seed) {}

// --- batches ------------------------------------------------------------------------------

Reply BatchApi::create_batch(std::string_view text) {
  const Json body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return request_error(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
        "sent was not valid JSON.)");
  }
  for (const char* key : {"input_file_id", "endpoint", "completion_window"}) {
    if (!body.contains(key)) return missing_parameter(key);
    if (!body[key].is_string()) return wrong_parameter_type(key, "a string");
  }
  const std::string endpoint = body["endpoint"];
  if (std::find(kBatchEndpoints.begin(), kBatchEndpoints.end(), endpoint) ==
      kBatchEndpoints.end()) {
    return request_error(400,
                         "Invalid value: '" + endpoint +
                             "'. Supported values are: " + quoted_names(kBatchEndpoints) + ".",
                         "endpoint", "invalid_value");
  }
  if (endpoint != kChatEndpoint) {
    return request_error(
        400, "This endpoint runs batches of /v1/chat/completions only, not " + endpoint + ".",
        "endpoint", "unsupported_value");
  }
  const std::string window = body["completion_window"];
  if (window != "24h") {
    return request_error(400, "Invalid value: '" + window + "'. Supported values are: '24h'.",
                         "completion_window", "invalid_value");
  }
  const Json metadata = body.value("metadata", Json());
  if (auto problem = metadata_problem(metadata)) return *problem;
  auto expiry = read_output_expiry(body);
  if (auto* problem = std::get_if<Reply>(&expiry)) return *problem;
  const std::string file_id = body["input_file_id"];
  const auto file = files_.find(file_id);
  if (!file) {
    return request_error(400, "Invalid 'input_file_id': no such File object: " + file_id + ".",
                         "input_file_id", "invalid_value");
  }
  if (file->purpose != "batch") {
    return request_error(400,
                         "Invalid 'input_file_id': " + file_id + " has purpose '" + file->purpose +
                             "'; a batch's input file must be uploaded with purpose 'batch'.",
                         "input_file_id", "invalid_value");
  }

  const std::lock_guard lock(mutex_);
  const SteadyClock::time_point now = clock_();
  advance_all(now);
  Batch batch;
  batch.sequence = batches_.size() + 1;
  batch.id = "batch_" + hex_id(Hasher(seed_).add("batch").add(batch.sequence).value(), 32);
  const std::uint64_t content_hash = Hasher(seed_).add(*file->content).value();
  batch.hash =
      Hasher(seed_).add("batch").add(content_hash).add(repeats_.seen_before(content_hash)).value();
  batch.input_file_id = file_id;
  batch.endpoint = endpoint;
  batch.completion_window = window;
  batch.metadata = metadata;
  batch.output_expires_after = std::get<std::optional<std::int64_t>>(expiry);
  batch.input =
      read_batch_input(*file->content, endpoint, {options_.max_requests, options_.max_bytes});
  for (const BatchRequestLine& request : batch.input.requests) {
    const auto chat = parse_chat_request(request.body);
    if (const auto* parsed = std::get_if<ChatRequest>(&chat)) {
      batch.enqueued_tokens += prompt_tokens(*parsed);
    }
  }
  batch.fate = draw_fate(options_, batch.hash);
  batch.order = drawn_order(batch.input.requests.size(), batch.hash);
  batch.created = now;
  batches_.push_back(std::move(batch));
  stats_.record_batch_created();
  return batch_reply(batches_.back());
}

Reply BatchApi::retrieve_batch(const std::string& id) {
  const std::lock_guard lock(mutex_);
  advance_all(clock_());
  const Batch* batch = find_batch(id);
  return batch ? batch_reply(*batch) : no_such_batch(id);
}

Reply BatchApi::list_batches(const ListQuery& query) {
  constexpr std::int64_t kMost = 100;
  const auto limit = read_list_limit(query.limit, 20, kMost);
  if (!limit) return bad_list_limit(kMost);
  const std::lock_guard lock(mutex_);
  advance_all(clock_());
  auto from = batches_.rbegin();  // newest first
  if (query.after) {
    from = std::find_if(batches_.rbegin(), batches_.rend(),
                        [&](const Batch& batch) { return batch.id == *query.after; });
    if (from == batches_.rend()) return no_such_batch(*query.after);
    ++from;
  }
  const auto count = std::min<std::int64_t>(*limit, batches_.rend() - from);
  Json data = Json::array();
  for (auto batch = from; batch != from + count; ++batch) {
    data.push_back(batch_json(*batch, unix_clock_));
  }
  Json list = {{"object", "list"}, {"data", data}};
  list["first_id"] = count > 0 ? Json(from->id) : Json(nullptr);
  list["last_id"] = count > 0 ? Json((from + count - 1)->id) : Json(nullptr);
  list["has_more"] = from + count != batches_.rend();
  return object_reply(list);
}

Reply BatchApi::cancel_batch(const std::string& id) {
  const std::lock_guard lock(mutex_);
  const SteadyClock::time_point now = clock_();
  advance_all(now);
  Batch* batch = find_batch(id);
  if (!batch) return no_such_batch(id);
  if (batch->status == BatchStatus::validating || batch->status == BatchStatus::in_progress) {
    batch->status = BatchStatus::cancelling;
    batch->cancelling_at = now;
  } else if (batch->status != BatchStatus::cancelling) {
    return request_error(409,
                         "Cannot cancel a batch with status '" +
                             std::string(batch_status_name(batch->status)) + "'.",
                         std::nullopt, "batch_not_cancellable");
  }
  return batch_reply(*batch);
}

void BatchApi::catch_up() {
  const std::lock_guard lock(mutex_);
  advance_all(clock_());
}

Reply BatchApi::batch_reply(const Batch& batch) const {
  return object_reply(batch_json(batch, unix_clock_));
}

Batch* BatchApi::find_batch(const std::string& id) {
  const auto found = std::find_if(batches_.begin(), batches_.end(),
                                  [&](const Batch& batch) { return batch.id == id; });
  return found == batches_.end() ? nullptr : &*found;
}

// --- time ---------------------------------------------------------------------------------

void BatchApi::advance_all(SteadyClock::time_point now) {
  // In creation order: a batch's validation ends after that of every batch created before it,
  // so those have reached now, and the enqueued tokens it is judged by are complete.
  for (Batch& batch : batches_) advance(batch, now);
}

void BatchApi::advance(Batch& batch, SteadyClock::time_point now) {
  while (true) {
    const std::optional<SteadyClock::time_point> end = batch.ends_at(options_);
    if (batch.status == BatchStatus::in_progress) answer_until(batch, std::min(now, *end));
    if (!end || *end > now) return;
    switch (batch.status) {
      case BatchStatus::validating:
        end_validation(batch, *end);
        break;
      case BatchStatus::in_progress:
        if (batch.fate.expires) {
          finish(batch, BatchStatus::expired, *end);
        } else {
          batch.status = BatchStatus::finalizing;
          batch.finalizing_at = *end;
        }
        break;
      case BatchStatus::finalizing:
        finish(batch, BatchStatus::completed, *end);
        break;
      case BatchStatus::cancelling:
        finish(batch, BatchStatus::cancelled, *end);
        break;
      default:
        return;
    }
  }
}

std::int64_t BatchApi::enqueued_tokens(const std::string& model, SteadyClock::time_point at,
                                       const Batch& except) const {
  std::int64_t tokens = 0;
  for (const Batch& batch : batches_) {
    if (&batch != &except && batch.input.model == model && batch.enqueued_at(at)) {
      tokens += batch.enqueued_tokens;
    }
  }
  return tokens;
}

void BatchApi::end_validation(Batch& batch, SteadyClock::time_point at) {
  if (!batch.input.errors.empty()) {
    batch.errors = batch.input.errors;
  } else if (batch.fate.fails) {
    batch.errors.push_back({"server_error",
                            "The batch could not be validated: the server had an error. Create "
                            "the batch again.",
                            std::nullopt, std::nullopt});
  } else if (options_.token_limit > 0 &&
             enqueued_tokens(batch.input.model, at, batch) + batch.enqueued_tokens >
                 options_.token_limit) {
    batch.errors.push_back(
        {"token_limit_exceeded",
         "Enqueued token limit reached for " + batch.input.model +
             " in organization org-hydrate-mock. Limit: " + with_commas(options_.token_limit) +
             " enqueued tokens. Please try again once some in_progress batches have been "
             "completed.",
         std::nullopt, std::nullopt});
  }
  if (!batch.errors.empty()) {
    batch.status = BatchStatus::failed;
    batch.failed_at = at;
    stats_.record_batch_end(batch_status_name(batch.status));
    return;
  }
  batch.status = BatchStatus::in_progress;
  batch.in_progress_at = at;
}

void BatchApi::answer_until(Batch& batch, SteadyClock::time_point until) {
  const auto total = static_cast<std::int64_t>(batch.order.size());
  const std::int64_t elapsed =
      std::chrono::duration_cast<Milliseconds>(until - *batch.in_progress_at).count();
  const std::int64_t due =
      options_.processing_ms <= 0 || elapsed >= options_.processing_ms
          ? total
          : total * std::max<std::int64_t>(0, elapsed) / options_.processing_ms;
  const std::int64_t created = unix_clock_.at(until);
  for (; static_cast<std::int64_t>(batch.answered) < due; ++batch.answered) {
    const std::size_t index = batch.order[batch.answered];
    const BatchRequestLine& request = batch.input.requests[index];
    const std::uint64_t hash = line_hash(batch.hash, index);
    if (draws_error_line(options_, batch.hash, index)) {
      batch.error_output += response_line(request.custom_id, hash, 500, server_error_reply().body);
      ++batch.failed;
      stats_.record_batch_line(BatchLineKind::server_error, std::nullopt);
      continue;
    }
    const LineAnswer answer = answer_(request.body, hash, created);
    if (answer.status == 200) {
      batch.output += response_line(request.custom_id, hash, 200, answer.body);
      ++batch.completed;
      if (answer.billed) {
        batch.usage.prompt_tokens += answer.billed->prompt_tokens;
        batch.usage.completion_tokens += answer.billed->completion_tokens;
        batch.usage.reasoning_tokens += answer.billed->reasoning_tokens;
      }
      stats_.record_batch_line(BatchLineKind::answered, answer.billed);
    } else {
      batch.error_output += response_line(request.custom_id, hash, answer.status, answer.body);
      ++batch.failed;
      stats_.record_batch_line(BatchLineKind::refused, std::nullopt);
    }
  }
}

void BatchApi::finish(Batch& batch, BatchStatus status, SteadyClock::time_point at) {
  if (status == BatchStatus::expired) {
    for (; batch.answered < batch.order.size(); ++batch.answered) {
      const std::size_t index = batch.order[batch.answered];
      batch.error_output += unanswered_line(
          batch.input.requests[index].custom_id, line_hash(batch.hash, index), "batch_expired",
          "This request could not be executed before the completion window expired.");
      ++batch.failed;
      stats_.record_batch_line(BatchLineKind::expired, std::nullopt);
    }
  }
  batch.status = status;
  if (status == BatchStatus::completed) {
    batch.completed_at = at;
  } else if (status == BatchStatus::expired) {
    batch.expired_at = at;
  } else {
    batch.cancelled_at = at;
  }
  const std::int64_t created = unix_clock_.at(at);
  const std::int64_t expires = created + batch.output_expires_after.value_or(kBatchFileLifetime);
  if (!batch.output.empty()) {
    batch.output_file_id = files_
                               .add(batch.id + "_output.jsonl", "batch_output",
                                    std::move(batch.output), created, expires)
                               .id;
    batch.output.clear();
  }
  if (!batch.error_output.empty()) {
    batch.error_file_id = files_
                              .add(batch.id + "_error.jsonl", "batch_output",
                                   std::move(batch.error_output), created, expires)
                              .id;
    batch.error_output.clear();
  }
  stats_.record_batch_end(batch_status_name(status));
}

}  // namespace hydrate::mock
