#pragma once
// What the local endpoint's tests send and read: a client for the running process, a
// chapters-like structured-outputs request as the worker sends one, and the token arithmetic the
// endpoint documents. Shared by the mock_*_test.cpp files.
#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/mock_process.hpp"

namespace hydrate::testing::mock_requests {

using Json = nlohmann::json;

inline constexpr int kMinChapters = 8;
inline constexpr int kMaxChapters = 14;

inline httplib::Client client_for(const MockProcess& mock) {
  httplib::Client client(mock.host(), mock.port());
  client.set_connection_timeout(5);
  client.set_read_timeout(60);
  return client;
}

// A chapters-like structured-outputs request, as the worker sends one.
inline Json chapters_request(const std::string& prompt) {
  const Json chapter = {{"type", "object"},
                        {"additionalProperties", false},
                        {"required", {"position", "title", "summary"}},
                        {"properties",
                         {{"position", {{"type", "integer"}, {"minimum", 1}}},
                          {"title", {{"type", "string"}}},
                          {"summary", {{"type", "string"}}}}}};
  const Json schema = {{"type", "object"},
                       {"additionalProperties", false},
                       {"required", {"chapters"}},
                       {"properties",
                        {{"chapters",
                          {{"type", "array"},
                           {"minItems", kMinChapters},
                           {"maxItems", kMaxChapters},
                           {"items", chapter}}}}}};
  return {{"model", "gpt-4o-mini"},
          {"messages",
           {{{"role", "system"}, {"content", "You design school syllabi. Answer in JSON."}},
            {{"role", "user"}, {"content", prompt}}}},
          {"max_tokens", 8000},
          {"response_format",
           {{"type", "json_schema"},
            {"json_schema", {{"name", "chapters"}, {"strict", true}, {"schema", schema}}}}}};
}

inline constexpr const char* kPrompt =
    "List the chapters of CBSE Grade 8 Science in English: photosynthesis, cells, "
    "force and pressure, friction, sound, light.";

inline httplib::Result post_chat(httplib::Client& client, const Json& body,
                                 const httplib::Headers& headers = {}) {
  return client.Post("/v1/chat/completions", headers, body.dump(), "application/json");
}

inline Json content_of(const Json& completion) {
  return Json::parse(completion["choices"][0]["message"]["content"].get<std::string>());
}

inline std::int64_t ceil_quarter(std::size_t chars) {
  return static_cast<std::int64_t>((chars + 3) / 4);
}

// Code points of UTF-8 text: the endpoint counts characters, not bytes.
inline std::size_t code_points(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// The endpoint's prompt estimate: ceil(code points of all message contents / 4) + 4 per message.
inline std::int64_t prompt_tokens_of(const Json& body) {
  std::size_t chars = 0;
  for (const auto& message : body["messages"]) {
    chars += code_points(message["content"].get<std::string>());
  }
  return ceil_quarter(chars) + 4 * static_cast<std::int64_t>(body["messages"].size());
}

// A header as an integer; -1 when it is absent.
inline std::int64_t header_number(const httplib::Result& result, const std::string& name) {
  return result->has_header(name) ? std::stoll(result->get_header_value(name)) : -1;
}

}  // namespace hydrate::testing::mock_requests
