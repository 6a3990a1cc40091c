#include "mock/faults.hpp"

#include <algorithm>

#include "mock/hash.hpp"
#include "mock/utf8.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

const char* fault_name(Fault fault) {
  switch (fault) {
    case Fault::none:
      return "none";
    case Fault::rate_limited:
      return "429";
    case Fault::server_error:
      return "500";
    case Fault::unavailable:
      return "503";
    case Fault::timeout:
      return "timeout";
    case Fault::malformed:
      return "malformed";
    case Fault::truncated:
      return "truncated";
    case Fault::invalid:
      return "invalid";
    case Fault::hostile:
      return "hostile";
    case Fault::runaway:
      return "runaway";
  }
  return "none";
}

std::uint64_t RepeatCounter::seen_before(std::uint64_t body_hash) {
  const std::lock_guard lock(mutex_);
  return counts_[body_hash]++;
}

std::uint64_t fault_hash(std::uint64_t seed, std::uint64_t body_hash, std::uint64_t repeat) {
  return Hasher(seed).add(body_hash).add(repeat).value();
}

Fault decide_fault(const FaultRates& rates, std::uint64_t hash) {
  // New faults go last, so that adding one leaves every earlier fault's choices alone.
  const std::array<std::pair<Fault, double>, 9> ordered = {
      {{Fault::rate_limited, rates.rate_limited},
       {Fault::server_error, rates.server_error},
       {Fault::unavailable, rates.unavailable},
       {Fault::timeout, rates.timeout},
       {Fault::malformed, rates.malformed},
       {Fault::truncated, rates.truncated},
       {Fault::invalid, rates.invalid},
       {Fault::hostile, rates.hostile},
       {Fault::runaway, rates.runaway}}};
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    const auto& [fault, rate] = ordered[i];
    // Each fault draws its own number, so changing one rate leaves the others' choices alone.
    if (rate > 0 && unit_interval(derive(hash, 0xFA0 + i)) < rate) {
      return fault;
    }
  }
  return Fault::none;
}

Reply error_reply(ApiError error, std::vector<std::pair<std::string, std::string>> headers) {
  Reply reply;
  reply.status = error.status;
  reply.body = error_body(error);
  reply.headers = std::move(headers);
  reply.error = std::move(error);
  return reply;
}

Reply rate_limit_reply(const std::string& model, std::uint64_t hash) {
  const auto wait_ms = pick_in_range(derive(hash, 0x429), 50, 200);
  Reply reply;
  reply.status = 429;
  reply.error = ApiError{
      429,
      "Rate limit reached for " + model +
          " in organization org-hydrate-mock on requests per min (RPM): Limit 500, Used 500, "
          "Requested 1. Please try again in " +
          std::to_string(wait_ms) +
          "ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
      "requests", std::nullopt, "rate_limit_exceeded"};
  reply.body = error_body(*reply.error);
  // The x-ratelimit-* headers come from the endpoint's limiter, as on every answer.
  reply.headers = {{"retry-after", "1"}, {"retry-after-ms", std::to_string(wait_ms)}};
  return reply;
}

Reply server_error_reply() {
  return error_reply(
      {500, "The server had an error while processing your request. Sorry about that!",
       "server_error", std::nullopt, std::nullopt},
      {});
}

Reply unavailable_reply() {
  return error_reply({503, "The server is overloaded or not ready yet.", "server_error",
                      std::nullopt, "service_unavailable"},
                     {{"retry-after", "1"}});
}

Reply gateway_timeout_reply() {
  return error_reply(
      {504, "The upstream model did not answer in time.", "server_error", std::nullopt, "timeout"},
      {});
}

bool timeout_drops_connection(std::uint64_t hash) {
  return derive(hash, 0x504) % 2 == 0;
}

Reply malformed_reply(const std::string& completion_body, std::uint64_t hash) {
  if (derive(hash, 0xBAD) % 2 == 0) {
    const auto cut = static_cast<std::size_t>(static_cast<double>(completion_body.size()) *
                                              (0.3 + 0.4 * unit_interval(derive(hash, 0xC07))));
    return {200, completion_body.substr(0, std::max<std::size_t>(cut, 1)), "application/json", {}};
  }
  return {200,
          "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
          "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
          "</body>\r\n</html>\r\n",
          "text/html",
          {}};
}

std::string truncated_content(std::string_view content, std::uint64_t hash) {
  const std::size_t chars = count_chars(content);
  if (chars <= 1) {
    return std::string();
  }
  const auto cut = static_cast<std::size_t>(static_cast<double>(chars) *
                                            (0.3 + 0.5 * unit_interval(derive(hash, 0x7C))));
  return take_chars(content, std::clamp<std::size_t>(cut, 1, chars - 1));
}

}  // namespace hydrate::mock
