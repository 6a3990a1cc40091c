#include "mock/endpoint.hpp"

#include <algorithm>
#include <ctime>

#include "mock/azure.hpp"
#include "mock/chat_answer.hpp"
#include "mock/connection.hpp"
#include "mock/hash.hpp"
#include "mock/limit_replies.hpp"

namespace hydrate::mock {
namespace {

using Clock = std::chrono::steady_clock;

// Sets a header once, replacing any value set before (httplib's headers are a multimap).
void put_header(httplib::Response& response, const std::string& name, const std::string& value) {
  response.headers.erase(name);
  response.set_header(name, value);
}

std::string masked(const std::string& key) {
  if (key.size() < 8) return "***";
  return key.substr(0, 3) + "***" + key.substr(key.size() - 4);
}

// An Azure APIM request id: a UUID derived from the hash.
std::string apim_request_id(std::uint64_t hash) {
  const std::string hex = request_id(hash).substr(4);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace

void Stopper::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
}

bool Stopper::sleep_for(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, duration, [this] { return stopped_; });
}

Endpoint::Endpoint(EndpointOptions options, Stopper& stopper)
    : options_(std::move(options)),
      traits_(traits_of(options_.flavor)),
      stopper_(stopper),
      batches_(
          options_.batch, options_.seed,
          [this](const std::string& body, std::uint64_t hash, std::int64_t created) {
            return answer_batch_line(body, hash, created);
          },
          stats_) {
  if (auto limits = effective_limits(options_.flavor, options_.rpm, options_.tpm)) {
    limiter_.emplace(*limits, started_);
  }
}

void Endpoint::send_error(httplib::Response& response, const ApiError& error) const {
  response.status = error.status;
  response.set_content(flavor_error_body(options_.flavor, error), "application/json");
}

void Endpoint::send_reply(httplib::Response& response, const Reply& reply) const {
  response.status = reply.status;
  for (const auto& [name, value] : reply.headers) {
    put_header(response, name, value);
  }
  response.set_content(reply.error ? flavor_error_body(options_.flavor, *reply.error) : reply.body,
                       reply.content_type);
}

bool Endpoint::still_loading() const {
  return options_.loading_ms > 0 &&
         Clock::now() - started_ < std::chrono::milliseconds(options_.loading_ms);
}

void Endpoint::install(httplib::Server& server) {
  if (options_.flavor == Flavor::azure) {
    server.Post(R"(/openai/deployments/([^/]+)/chat/completions)",
                [this](const httplib::Request& request, httplib::Response& response) {
                  chat_completions(request, response, request.matches[1].str());
                });
  } else {
    server.Post("/v1/chat/completions",
                [this](const httplib::Request& request, httplib::Response& response) {
                  chat_completions(request, response, "");
                });
    if (options_.flavor == Flavor::openai) install_batch_routes(server);
    server.Get("/v1/models", [this](const httplib::Request& request, httplib::Response& response) {
      pause_for_latency();
      if (auto refusal = refuse_unauthorized(request)) {
        send_error(response, *refusal);
        return;
      }
      response.set_content(models_.to_json(), "application/json");
    });
  }
  server.Get("/health", [this](const httplib::Request&, httplib::Response& response) {
    if (still_loading()) {
      send_error(response, {503, "Loading model", "unavailable_error", std::nullopt, std::nullopt});
      return;
    }
    response.set_content(R"({"status":"ok"})", "application/json");
  });
  server.Get("/stats", [this](const httplib::Request&, httplib::Response& response) {
    batches_.catch_up();
    response.set_content(stats_.to_json(), "application/json");
  });
  // Unknown paths (and any error httplib raises itself) get the flavor's error shape.
  const httplib::Server::HandlerWithResponse flavor_error = [this](const httplib::Request& request,
                                                                   httplib::Response& response) {
    if (!response.body.empty()) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (options_.flavor == Flavor::azure && response.status == 404) {
      send_reply(response, azure_error(404, "404", "Resource not found"));
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string what =
        response.status == 404
            ? "Invalid URL (" + request.method + " " + request.path + ")"
            : "The request could not be handled (HTTP " + std::to_string(response.status) + ").";
    send_error(response,
               {response.status, what, "invalid_request_error", std::nullopt, std::nullopt});
    return httplib::Server::HandlerResponse::Handled;
  };
  server.set_error_handler(flavor_error);
  server.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& response, std::exception_ptr thrown) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(thrown);
        } catch (const std::exception& error) {
          what = error.what();
        } catch (...) {
        }
        send_error(response, {500, "The mock endpoint failed: " + what, "server_error",
                              std::nullopt, std::nullopt});
      });
}

std::optional<ApiError> Endpoint::refuse_unauthorized(const httplib::Request& request) const {
  if (options_.api_key.empty()) {
    return std::nullopt;
  }
  const std::string header = request.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) != 0 || header.size() == prefix.size()) {
    return ApiError{401,
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error", std::nullopt, std::nullopt};
  }
  const std::string key = header.substr(prefix.size());
  if (key != options_.api_key) {
    return ApiError{401, "Incorrect API key provided: " + masked(key) + ".",
                    "invalid_request_error", std::nullopt, "invalid_api_key"};
  }
  return std::nullopt;
}

std::optional<Reply> Endpoint::refuse_at_azure_gate(const httplib::Request& request,
                                                    const std::string& deployment) const {
  const std::optional<std::string> version =
      request.has_param("api-version")
          ? std::optional<std::string>(request.get_param_value("api-version"))
          : std::nullopt;
  if (auto refusal = refuse_api_version(version)) return refusal;
  if (auto refusal = refuse_azure_key(options_.api_key, request.get_header_value("api-key"))) {
    return refusal;
  }
  const auto& known = options_.deployments;
  if (!known.empty() && std::find(known.begin(), known.end(), deployment) == known.end()) {
    return azure_error(404, "DeploymentNotFound",
                       "The API deployment for this resource does not exist. If you created the "
                       "deployment within the last 5 minutes, please wait a moment and try again.");
  }
  return std::nullopt;
}

void Endpoint::pause_for_latency() {
  if (options_.latency_ms > 0) {
    stopper_.sleep_for(std::chrono::milliseconds(options_.latency_ms));
  }
}

void Endpoint::chat_completions(const httplib::Request& request, httplib::Response& response,
                                const std::string& deployment) {
  const auto started = Clock::now();
  const std::uint64_t body_hash = Hasher().add(request.body).value();
  const std::uint64_t request_hash = derive(body_hash, ++sequence_);
  if (options_.flavor == Flavor::openai) {
    response.set_header("x-request-id", request_id(request_hash));
  } else if (options_.flavor == Flavor::azure) {
    response.set_header("apim-request-id", apim_request_id(request_hash));
    response.set_header("x-ms-region", "East US");
  }
  std::optional<LimitState> limit_state;  // set once the limiter has decided
  const auto finish = [&](int status, std::optional<Fault> fault) {
    if (limiter_ && response.status != 401) {
      // A limiter's refusal carries its own; every other reply none, which spares the lookups.
      const bool replied_with_limits =
          std::any_of(response.headers.begin(), response.headers.end(),
                      [](const auto& header) { return header.first.starts_with("x-ratelimit-"); });
      for (const auto& [name, value] : limit_headers(
               options_.flavor, limit_state ? *limit_state : limiter_->peek(Clock::now()))) {
        if (!replied_with_limits || !response.has_header(name)) response.set_header(name, value);
      }
    }
    if (options_.flavor == Flavor::openai) {
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
      response.set_header("openai-processing-ms", std::to_string(elapsed.count()));
      response.set_header("openai-version", "2020-10-01");
    }
    stats_.record(status, fault);
  };
  pause_for_latency();
  if (still_loading()) {
    stats_.record_loading();
    send_error(response, {503, "Loading model", "unavailable_error", std::nullopt, std::nullopt});
    return finish(503, std::nullopt);
  }
  if (options_.flavor == Flavor::azure) {
    if (auto refusal = refuse_at_azure_gate(request, deployment)) {
      send_reply(response, *refusal);
      return finish(refusal->status, std::nullopt);
    }
  } else if (auto refusal = refuse_unauthorized(request)) {
    send_error(response, *refusal);
    return finish(refusal->status, std::nullopt);
  }
  const RequestRules rules{deployment, traits_.strict_schema_rules, options_.formats};
  auto parsed = parse_chat_request(request.body, rules);
  if (const auto* error = std::get_if<ApiError>(&parsed)) {
    send_error(response, *error);
    return finish(error->status, std::nullopt);
  }
  const ChatRequest& chat = std::get<ChatRequest>(parsed);
  models_.note(chat.model);
  const std::string api_version = request.get_param_value("api-version");
  if (options_.flavor == Flavor::azure) {
    if (auto refusal = refuse_for_api_version(chat, api_version)) {
      send_reply(response, *refusal);
      return finish(refusal->status, std::nullopt);
    }
  }
  if (auto refusal = refuse_reasoning_parameters(options_.flavor, chat)) {
    send_error(response, *refusal);
    return finish(refusal->status, std::nullopt);
  }
  if (limiter_) {
    // What OpenAI counts against TPM: the estimated prompt plus the most the answer may take.
    const auto cap = traits_.reads_max_completion_tokens ? chat.max_tokens : chat.legacy_max_tokens;
    const std::int64_t tokens = prompt_tokens(chat) + cap.value_or(0);
    const Admission admission = limiter_->admit(Clock::now(), tokens);
    limit_state = admission.state;
    if (!admission.admitted) {
      stats_.record_limited(admission.refused_by);
      send_reply(response, limit_refusal(options_.flavor, chat.model, admission, api_version));
      return finish(429, std::nullopt);
    }
    stats_.record_admitted(tokens);
  }
  // An account running dry: every request after the first quota_after gets OpenAI's quota error.
  if (options_.quota_after >= 0 && ++accepted_ > options_.quota_after) {
    send_error(response, ApiError{429,
                                  "You exceeded your current quota, please check your plan and "
                                  "billing details.",
                                  "insufficient_quota", std::nullopt, "insufficient_quota"});
    return finish(429, std::nullopt);
  }
  const std::uint64_t hash = fault_hash(options_.seed, body_hash, repeats_.seen_before(body_hash));
  Fault fault = decide_fault(options_.rates, hash);
  if (fault != Fault::none && fault != Fault::invalid && fault != Fault::hostile &&
      fault != Fault::runaway) {
    response.set_header("x-mock-fault", fault_name(fault));
  }
  switch (fault) {
    case Fault::rate_limited:
      send_reply(response, rate_limit_reply(chat.model, hash));
      return finish(429, fault);
    case Fault::server_error:
      send_reply(response, server_error_reply());
      return finish(500, fault);
    case Fault::unavailable:
      send_reply(response, unavailable_reply());
      return finish(503, fault);
    case Fault::timeout:
      stopper_.sleep_for(std::chrono::milliseconds(options_.timeout_hold_ms));
      if (timeout_drops_connection(hash) && drop_connection(request)) {
        return finish(0, fault);
      }
      send_reply(response, gateway_timeout_reply());
      return finish(504, fault);
    default: {
      const WrittenAnswer written =
          write_answer(options_, chat, fault, hash, static_cast<std::int64_t>(std::time(nullptr)));
      if (written.wrong_language) stats_.record_wrong_language(*written.wrong_language);
      if (written.hostile) stats_.record_hostile(*written.hostile);
      if (written.billed) stats_.bill(*written.billed);
      send_reply(response, written.reply);
      return finish(written.reply.status, written.fault);
    }
  }
}

}  // namespace hydrate::mock
