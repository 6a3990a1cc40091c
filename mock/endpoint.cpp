#include "mock/endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "mock/answer.hpp"
#include "mock/hash.hpp"
#include "mock/schema_breaker.hpp"
#include "mock/utf8.hpp"

namespace hydrate::mock {
namespace {

using Clock = std::chrono::steady_clock;

void send_error(httplib::Response& response, const ApiError& error) {
  response.status = error.status;
  response.set_content(error_body(error), "application/json");
}

void send_reply(httplib::Response& response, const Reply& reply) {
  response.status = reply.status;
  for (const auto& [name, value] : reply.headers) {
    response.set_header(name, value);
  }
  response.set_content(reply.body, reply.content_type);
}

std::string masked(const std::string& key) {
  if (key.size() < 8) return "***";
  return key.substr(0, 3) + "***" + key.substr(key.size() - 4);
}

// Ends the TCP connection a request came on without any answer, as a failing proxy would: finds
// its socket by the peer address and shuts it down (httplib then fails to write and closes it).
bool drop_connection(const httplib::Request& request) try {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    const int fd = std::atoi(entry.path().filename().c_str());
    sockaddr_storage peer{};
    socklen_t length = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) continue;
    char host[INET6_ADDRSTRLEN] = {};
    int port = -1;
    if (peer.ss_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(&peer);
      inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
      port = ntohs(v4->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&peer);
      inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
      port = ntohs(v6->sin6_port);
    } else {
      continue;
    }
    if (port == request.remote_port && request.remote_addr == host) {
      return shutdown(fd, SHUT_RDWR) == 0;
    }
  }
  return false;
} catch (const std::filesystem::filesystem_error&) {
  return false;  // the caller answers 504 instead
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
    : options_(std::move(options)), stopper_(stopper) {}

void Endpoint::install(httplib::Server& server) {
  server.Post("/v1/chat/completions",
              [this](const httplib::Request& request, httplib::Response& response) {
                chat_completions(request, response);
              });
  server.Get("/v1/models", [this](const httplib::Request& request, httplib::Response& response) {
    pause_for_latency();
    if (auto refusal = refuse_unauthorized(request)) {
      send_error(response, *refusal);
      return;
    }
    response.set_content(models_.to_json(), "application/json");
  });
  server.Get("/health", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"status":"ok"})", "application/json");
  });
  server.Get("/stats", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(stats_.to_json(), "application/json");
  });
  // Unknown paths (and any error httplib raises itself) get OpenAI's error shape.
  const httplib::Server::HandlerWithResponse openai_error = [](const httplib::Request& request,
                                                               httplib::Response& response) {
    if (!response.body.empty()) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string what =
        response.status == 404
            ? "Invalid URL (" + request.method + " " + request.path + ")"
            : "The request could not be handled (HTTP " + std::to_string(response.status) + ").";
    send_error(response,
               {response.status, what, "invalid_request_error", std::nullopt, std::nullopt});
    return httplib::Server::HandlerResponse::Handled;
  };
  server.set_error_handler(openai_error);
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr thrown) {
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

void Endpoint::pause_for_latency() {
  if (options_.latency_ms > 0) {
    stopper_.sleep_for(std::chrono::milliseconds(options_.latency_ms));
  }
}

void Endpoint::chat_completions(const httplib::Request& request, httplib::Response& response) {
  const auto started = Clock::now();
  const std::uint64_t body_hash = Hasher().add(request.body).value();
  response.set_header("x-request-id", request_id(derive(body_hash, ++sequence_)));
  const auto finish = [&](int status, std::optional<Fault> fault) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    response.set_header("openai-processing-ms", std::to_string(elapsed.count()));
    response.set_header("openai-version", "2020-10-01");
    stats_.record(status, fault);
  };
  pause_for_latency();
  if (auto refusal = refuse_unauthorized(request)) {
    send_error(response, *refusal);
    return finish(refusal->status, std::nullopt);
  }
  auto parsed = parse_chat_request(request.body);
  if (const auto* error = std::get_if<ApiError>(&parsed)) {
    send_error(response, *error);
    return finish(error->status, std::nullopt);
  }
  const ChatRequest& chat = std::get<ChatRequest>(parsed);
  models_.note(chat.model);
  // An account running dry: every request after the first quota_after gets OpenAI's quota error.
  if (options_.quota_after >= 0 && ++accepted_ > options_.quota_after) {
    send_error(response, ApiError{429,
                                  "You exceeded your current quota, please check your plan and "
                                  "billing details.",
                                  "insufficient_quota", std::nullopt, "insufficient_quota"});
    return finish(429, std::nullopt);
  }
  const std::uint64_t hash = fault_hash(options_.seed, body_hash, repeats_.seen_before(body_hash));
  const Fault fault = decide_fault(options_.rates, hash);
  if (fault != Fault::none && fault != Fault::invalid && fault != Fault::hostile) {
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
    default:
      return finish(answer(chat, fault, hash, response), fault);
  }
}

int Endpoint::answer(const ChatRequest& chat, Fault fault, std::uint64_t hash,
                     httplib::Response& response) {
  const std::optional<Language> wrong_language =
      fault == Fault::none && draws_wrong_language(options_.wrong_language_rate, hash)
          ? std::optional(other_language(requested_language(chat), hash))
          : std::nullopt;
  const Answer written =
      wrong_language ? compose_answer(chat, content_hash(options_.seed, chat), *wrong_language)
                     : compose_answer(chat, content_hash(options_.seed, chat));
  if (wrong_language) {
    stats_.record_wrong_language(*wrong_language);
    response.set_header("x-mock-fault",
                        std::string("wrong-language: ") + language_code(*wrong_language));
  }
  Completion completion;
  completion.id = completion_id(hash);
  completion.created = static_cast<std::int64_t>(std::time(nullptr));
  completion.model = chat.model;
  completion.content = written.content;
  if (fault == Fault::hostile) {
    const auto& kinds = options_.hostile_kinds;
    const HostileKind kind = kinds[derive(hash, 0x405) % kinds.size()];
    const HostileAnswer hostile = hostile_answer(kind, completion, written.json, chat, hash);
    stats_.record_hostile(kind);
    if (hostile.billed) stats_.bill(hostile.usage);
    response.set_header("x-mock-fault", "hostile: " + hostile.detail);
    send_reply(response, hostile.reply);
    return hostile.reply.status;
  }
  if (fault == Fault::invalid) {
    if (written.json) {
      const BrokenAnswer broken = break_schema(written.schema, *written.json, hash);
      completion.content = broken.value.dump(-1, ' ', false, Json::error_handler_t::replace);
      response.set_header("x-mock-fault", "invalid: " + broken.breach);
    } else {
      completion.content.clear();
      response.set_header("x-mock-fault", "invalid: empty content");
    }
  }
  if (fault == Fault::truncated) {
    completion.content = truncated_content(completion.content, hash);
    completion.finish_reason = "length";
  }
  if (chat.max_tokens && tokens_for(completion.content) > *chat.max_tokens) {
    completion.content =
        take_chars(completion.content, static_cast<std::size_t>(*chat.max_tokens) * 4);
    completion.finish_reason = "length";
  }
  completion.usage = {prompt_tokens(chat), tokens_for(completion.content)};
  const std::string body = completion_body(completion);
  if (fault == Fault::malformed) {
    send_reply(response, malformed_reply(body, hash));
    return 200;
  }
  stats_.bill(completion.usage);
  response.set_content(body, "application/json");
  return 200;
}

}  // namespace hydrate::mock
