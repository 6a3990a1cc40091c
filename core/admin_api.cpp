// The admin API's handlers (see admin_api.hpp): JSON in, the shapes of core/report.hpp out.
#include "core/admin_api.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/ids.hpp"
#include "core/ops_report.hpp"
#include "core/report.hpp"
#include "core/submit.hpp"

namespace hydrate::api {

namespace {

using nlohmann::json;

constexpr int kMaxPage = 200;

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

int status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::invalid_input:
      return 400;
    case ErrorKind::over_budget:
      return 422;
    case ErrorKind::conflict:
      return 409;
    case ErrorKind::transient:
    case ErrorKind::unavailable:
      return 503;
    case ErrorKind::permanent:
      return 500;
  }
  return 500;
}

const char* code_for(int status) {
  switch (status) {
    case 400:
      return "invalid_request";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    case 422:
      return "over_budget";
    case 503:
      return "unavailable";
    default:
      return "internal";
  }
}

Response from_error(const Error& error) {
  int status = status_for(error.kind);
  return error_response(status, code_for(status), error.message);
}

// Thrown inside a handler to answer with an error.
struct Refusal {
  Response response;
};
[[noreturn]] void refuse(int status, const std::string& message) {
  throw Refusal{error_response(status, code_for(status), message)};
}
template <class T>
T take(Result<T> result) {
  if (!result) throw Refusal{from_error(result.error())};
  return std::move(result).value();
}
void take(const Status& status) {
  if (!status) throw Refusal{from_error(status.error())};
}

Response method_not_allowed(const char* allow) {
  Response r = error_response(405, "method_not_allowed", "use " + std::string(allow));
  r.headers.emplace_back("Allow", allow);
  return r;
}

// --- request fields ---
// The submit body: language, boardCode, grade, subjectCode (required), options {generateNotes,
// generateQuestions, dryRun}, chapters, topicsPerChapter, questionsPerTopic, model, mode,
// budgetUsd, force, priority.

std::string text_field(const json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) refuse(400, fmt::format("\"{}\" is required", name));
    return "";
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());  // "grade": 1
  refuse(400, fmt::format("\"{}\" must be a string", name));
}

bool bool_field(const json& object, const char* name, bool fallback) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) refuse(400, fmt::format("\"{}\" must be true or false", name));
  return it->get<bool>();
}

double number_field(const json& body, const char* name, double min, double max) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return 0;
  if (!it->is_number() || it->get<double>() < min || it->get<double>() > max)
    refuse(400, fmt::format("\"{}\" must be a number from {} to {}", name, min, max));
  return it->get<double>();
}

int int_field(const json& body, const char* name, int min, int max, int fallback) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<long long>() < min || it->get<long long>() > max)
    refuse(400, fmt::format("\"{}\" must be a whole number from {} to {}", name, min, max));
  return static_cast<int>(it->get<long long>());
}

struct Submission {
  SubmitRequest request;
  bool dry_run = false;
};

Submission parse_submission(const std::string& text, const Config& config) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) refuse(400, "the body is not JSON");
  if (!body.is_object()) refuse(400, "the body must be a JSON object");
  Submission s;
  SubmitRequest& r = s.request;
  r.slot.language = text_field(body, "language", true);
  r.slot.board = text_field(body, "boardCode", true);
  r.slot.grade = text_field(body, "grade", true);
  r.slot.subject = text_field(body, "subjectCode", true);
  json options = json::object();
  if (auto it = body.find("options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) refuse(400, "\"options\" must be an object");
    options = *it;
  }
  r.options.notes = bool_field(options, "generateNotes", true);
  r.options.questions = bool_field(options, "generateQuestions", true);
  s.dry_run = bool_field(options, "dryRun", false);
  r.options.chapters = int_field(body, "chapters", 1, 1000, 0);
  r.options.topics_per_chapter = int_field(body, "topicsPerChapter", 1, 1000, 0);
  r.options.questions_per_topic = int_field(body, "questionsPerTopic", 1, 1000, 10);
  r.options.model = text_field(body, "model", false);
  r.max_cost_usd = number_field(body, "budgetUsd", 0, 1e9);
  r.force = bool_field(body, "force", false);
  r.priority = int_field(body, "priority", -1000, 1000, 0);
  // "mode": "online" | "batch"; absent or null: submit.mode, resolved as for `hydrate submit`.
  std::string mode = text_field(body, "mode", false);
  if (body.contains("mode") && !body["mode"].is_null() && mode.empty())
    refuse(400, "mode must be online or batch (got '')");
  take(complete_request(r, config, mode));
  if (r.options.mode == CallMode::batch) take(check_batch_api(config, "mode batch"));
  take(validate_request(r));
  return s;
}

std::string status_of(store::Store& store, const Context& ctx, const std::string& id) {
  auto view = take(store.view_job(id, 5));
  if (!view.root) return report::job_status_json(view.job);
  batch::Savings savings = batch::savings_of(view.calls_by_model, ctx.config.prices());
  return report::root_status_json(*view.root, view.counts, view.errors, view.batches, &savings);
}

std::string job_id_of(std::string_view rest) {
  std::string id(rest);
  if (!looks_like_job_id(id)) refuse(404, "no job '" + id.substr(0, 64) + "'");
  return id;
}

// --- handlers ---

Response submit(store::Store& store, const Context& ctx, const Request& request, Millis now) {
  Submission s = parse_submission(request.body, ctx.config);
  const SubmitRequest& r = s.request;
  if (s.dry_run) {
    auto history = store.history(r.options.model, r.slot, kHistoryRoots);
    auto estimate = take(estimate_request(r, ctx.catalog, ctx.config.prices(), ctx.prompts,
                                          history ? &*history : nullptr));
    if (r.max_cost_usd > 0 && estimate.cost_usd > r.max_cost_usd) {
      refuse(422, fmt::format("estimated cost ${:.4f} exceeds the budget ${:.4f}",
                              estimate.cost_usd, r.max_cost_usd));
    }
    return json_response(200, report::submit_json(nullptr, estimate, r.options.model));
  }
  auto result = take(submit_subject(store, r, ctx.catalog, ctx.config.prices(), ctx.prompts, now));
  Response response =
      json_response(result.outcome.deduplicated ? 200 : 202,
                    report::submit_json(&result.outcome, result.estimate, r.options.model));
  response.headers.emplace_back("Location",
                                std::string(kBasePath) + "/" + result.outcome.root.job.id);
  return response;
}

Response history(store::Store& store, const Request& request) {
  std::optional<JobStatus> status;
  int limit = 20, offset = 0;
  for (const auto& [key, value] : request.query) {
    if (key == "status") {
      if (value.empty()) continue;
      status = parse_job_status(value);
      if (!status) refuse(400, "status must be pending, running, succeeded, failed or cancelled");
    } else if (key == "limit" || key == "offset") {
      char* end = nullptr;
      long long n = std::strtoll(value.c_str(), &end, 10);
      bool ok = !value.empty() && *end == '\0' &&
                (key == "limit" ? n >= 1 && n <= kMaxPage : n >= 0 && n <= 1'000'000'000);
      if (!ok)
        refuse(400, key == "limit" ? fmt::format("limit must be from 1 to {}", kMaxPage)
                                   : std::string("offset must be a whole number, 0 or more"));
      (key == "limit" ? limit : offset) = static_cast<int>(n);
    }
  }
  auto roots = take(store.list_roots(status, limit + 1, offset));
  bool more = static_cast<int>(roots.size()) > limit;
  if (more) roots.pop_back();
  json jobs = json::array();
  for (const auto& root : roots) {
    jobs.push_back(
        json::parse(report::root_status_json(root, take(store.tree_counts(root.job.id)), {})));
  }
  json out = {{"jobs", jobs},
              {"limit", limit},
              {"offset", offset},
              {"nextOffset", more ? json(offset + limit) : json(nullptr)}};
  if (status) out["status"] = to_string(*status);
  return json_response(200, out.dump());
}

Response ops_report(store::Store& store, const Context& ctx, const Request& request, Millis now) {
  auto since = request.query.find("since");
  Millis window = take(ops::window_ms(
      ctx.config, since == request.query.end() ? std::string() : since->second, "since"));
  auto targets = take(ops::targets_from(ctx.config));
  auto facts = take(store.ops_facts(now - window, now));
  return json_response(200, ops::render_json(ops::build_report(facts, targets, now - window, now,
                                                               ctx.config.prices())));
}

Response job_export(store::Store& store, const std::string& id, const Request& request) {
  std::string format = "json";
  if (auto it = request.query.find("format"); it != request.query.end()) format = it->second;
  if (format != "json" && format != "markdown") refuse(400, "format must be json or markdown");
  auto root = take(store.find_root(id));
  auto content = take(store.load_content(id));
  if (format == "json") return json_response(200, report::export_json(root, content));
  Response r = json_response(200, report::export_markdown(root, content));
  r.content_type = "text/markdown; charset=utf-8";
  return r;
}

Response route(store::Store& store, const Context& ctx, const Request& request, Millis now) {
  std::string_view rest = std::string_view(request.path).substr(std::string_view(kBasePath).size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const std::string& method = request.method;
  if (rest.empty()) {
    if (method == "POST") return submit(store, ctx, request, now);
    if (method == "GET") return history(store, request);
    return method_not_allowed("GET, POST");
  }
  rest.remove_prefix(1);  // the slash
  if (rest == "report") {
    if (method != "GET") return method_not_allowed("GET");
    return ops_report(store, ctx, request, now);
  }
  auto slash = rest.find('/');
  std::string id = job_id_of(rest.substr(0, slash));
  std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (action.empty()) {
    if (method == "GET") return json_response(200, status_of(store, ctx, id));
    if (method == "DELETE") {
      std::string reason = "cancelled through the admin API";
      if (auto it = request.query.find("reason"); it != request.query.end() && !it->second.empty())
        reason = it->second;
      take(check_text("reason", reason, 500));
      take(store.cancel(id, reason, now));
      return json_response(200, status_of(store, ctx, id));
    }
    return method_not_allowed("GET, DELETE");
  }
  if (action == "requeue") {
    if (method != "POST") return method_not_allowed("POST");
    int moved = take(store.requeue(id, now));
    json out = json::parse(status_of(store, ctx, id));
    out["requeued"] = moved;
    return json_response(200, out.dump());
  }
  if (action == "export") {
    if (method != "GET") return method_not_allowed("GET");
    return job_export(store, id, request);
  }
  refuse(404, "no such path");
}

}  // namespace

bool is_api_path(std::string_view path) {
  std::string_view base = kBasePath;
  return path.substr(0, base.size()) == base &&
         (path.size() == base.size() || path[base.size()] == '/');
}

Response error_response(int status, const std::string& code, const std::string& message) {
  return json_response(status, json{{"error", code}, {"message", message}}.dump());
}

Response handle(store::Store& store, const Context& context, const Request& request, Millis now) {
  try {
    return route(store, context, request, now);
  } catch (const Refusal& refusal) {
    return refusal.response;
  }
}

bool token_matches(std::string_view authorization, const std::vector<std::string>& tokens) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i])))
      return false;
  }
  std::string_view presented = authorization.substr(kScheme.size());
  bool matched = false;
  for (const auto& token : tokens) {
    if (token.empty()) continue;
    // Every byte of the longer string is looked at, whatever matches: the time tells nothing
    // of where the two differ (only, at most, of the token's length).
    std::size_t n = std::max(token.size(), presented.size());
    unsigned char diff = token.size() == presented.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
      unsigned char a = i < token.size() ? static_cast<unsigned char>(token[i]) : 0;
      unsigned char b = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
      diff |= static_cast<unsigned char>(a ^ b);
    }
    matched |= diff == 0;
  }
  return matched;
}

}  // namespace hydrate::api
