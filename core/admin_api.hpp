#pragma once
// The original system's admin API (/api/admin/hydrateAll…), independent of the HTTP server that
// carries it: a request in, a status code, headers and a JSON or markdown body out, served from
// the store the way the CLI commands are, so `hydrate serve` and the CLI answer alike.
//
//   POST   /api/admin/hydrateAll                 submit, or dry run (200); 202 and Location
//                                                 for a new root, 200 for its live duplicate
//   GET    /api/admin/hydrateAll                 history: ?status=&limit=(1..200)&offset=
//   GET    /api/admin/hydrateAll/report          `hydrate report --json`, ?since=DURATION
//   GET    /api/admin/hydrateAll/:jobId          `status --json`
//   DELETE /api/admin/hydrateAll/:jobId          cancel, then its status (?reason=)
//   POST   /api/admin/hydrateAll/:jobId/requeue  requeue, then its status
//   GET    /api/admin/hydrateAll/:jobId/export   ?format=json|markdown
// Errors are {"error": CODE, "message": TEXT}: 400 invalid_request, 404 not_found, 405
// method_not_allowed (with Allow), 422 over_budget, 503 unavailable, 500 internal.
// Authentication is the server's (token_matches); nothing here logs a request.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/catalog.hpp"
#include "core/config.hpp"
#include "core/prompts.hpp"
#include "core/store/store.hpp"

namespace hydrate::api {

inline constexpr const char* kBasePath = "/api/admin/hydrateAll";

struct Request {
  std::string method;                        // GET, POST, DELETE, …
  std::string path;                          // without the query string
  std::map<std::string, std::string> query;  // decoded
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// What the handlers read beside the store; resolved once when the server starts.
struct Context {
  const Config& config;
  const Catalog& catalog;
  const PromptSet& prompts;
};

// True when path is the API's (kBasePath or below it).
bool is_api_path(std::string_view path);

// Serves one API request at now. Store errors become 404, 503 (unavailable, transient) or 500.
Response handle(store::Store& store, const Context& context, const Request& request, Millis now);

// The error response: {"error": code, "message": message}.
Response error_response(int status, const std::string& code, const std::string& message);

// Whether the Authorization header's value is "Bearer <one of tokens>", compared in time that
// does not depend on where the strings differ. Empty tokens never match.
bool token_matches(std::string_view authorization, const std::vector<std::string>& tokens);

}  // namespace hydrate::api
