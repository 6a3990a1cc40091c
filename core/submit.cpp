#include "core/submit.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/cascade.hpp"
#include "core/ids.hpp"
#include "core/llm/model_profile.hpp"
#include "core/tsv.hpp"
#include "core/validate.hpp"

namespace hydrate {

namespace {

constexpr int kMaxGrade = 20;

Status check_count(const char* name, int value, int min, int max) {
  if (value < min || value > max) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("--{} must be from {} to {} (got {})", name, min, max, value));
  }
  return ok_status();
}

// At most max bytes of text as a message may quote it: control characters become '?'.
std::string quotable(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text.size() > max ? out + "…" : out;
}

}  // namespace

Status complete_request(SubmitRequest& request, const Config& config, std::string_view mode) {
  if (request.options.model.empty()) request.options.model = config.get("llm.model");
  std::string_view text = mode.empty() ? std::string_view(config.get("submit.mode")) : mode;
  auto parsed = parse_call_mode(text);
  if (!parsed) {
    return make_error(
        ErrorKind::invalid_input,
        mode.empty() ? fmt::format("submit.mode must be online or batch (got '{}' from {})",
                                   quotable(text, 32), config.origin("submit.mode"))
                     : fmt::format("mode must be online or batch (got '{}')", quotable(text, 32)));
  }
  request.options.mode = *parsed;
  auto concurrency = config.get_int("work.concurrency", 1, 1024);
  if (!concurrency) return concurrency.error();
  auto attempts = config.get_int("work.max_attempts", 1, 100);
  if (!attempts) return attempts.error();
  request.concurrency = static_cast<int>(*concurrency);
  request.max_attempts = static_cast<int>(*attempts);
  return ok_status();
}

Status check_batch_api(const Config& config, std::string_view what) {
  auto flavor = llm::detect_flavor(config.get("llm.flavor"), config.get("llm.url"));
  if (flavor && *flavor == llm::Flavor::openai) return ok_status();
  return make_error(ErrorKind::invalid_input,
                    fmt::format("{} needs an OpenAI endpoint's Batch API, but the endpoint is {} "
                                "(llm.flavor {}, from {}); submit it online",
                                what, flavor ? llm::to_string(*flavor) : "unknown",
                                config.get("llm.flavor"), config.origin("llm.flavor")));
}

Status check_text(const char* name, const std::string& value, std::size_t max) {
  if (trim(value).empty()) {
    return make_error(ErrorKind::invalid_input, fmt::format("--{} must not be empty", name));
  }
  if (value.size() > max) {
    return make_error(
        ErrorKind::invalid_input,
        fmt::format("--{} is {} bytes long; at most {} are allowed", name, value.size(), max));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return make_error(ErrorKind::invalid_input,
                        fmt::format("--{} contains a control character", name));
    }
  }
  return ok_status();
}

Status validate_request(const SubmitRequest& r) {
  HYDRATE_TRY(check_text("language", r.slot.language, 16));
  HYDRATE_TRY(check_text("board", r.slot.board, 64));
  HYDRATE_TRY(check_text("grade", r.slot.grade, 16));
  HYDRATE_TRY(check_text("subject", r.slot.subject, 128));
  // A numeric grade is a school year; names such as "KG" or "Year 7" pass as text.
  if (std::all_of(r.slot.grade.begin(), r.slot.grade.end(),
                  [](unsigned char c) { return c >= '0' && c <= '9'; }) &&
      (r.slot.grade.size() > 2 || std::stoi(r.slot.grade) > kMaxGrade)) {
    return make_error(
        ErrorKind::invalid_input,
        fmt::format("--grade {} is not a school grade (0 to {}, or a name such as KG)",
                    r.slot.grade, kMaxGrade));
  }
  if (r.options.chapters != 0) HYDRATE_TRY(check_count("chapters", r.options.chapters, 1, 200));
  if (r.options.topics_per_chapter != 0) {
    HYDRATE_TRY(check_count("topics-per-chapter", r.options.topics_per_chapter, 1, 100));
  }
  HYDRATE_TRY(check_count("questions-per-topic", r.options.questions_per_topic, 1, 50));
  HYDRATE_TRY(check_count("priority", r.priority, -1000, 1000));
  if (!(r.max_cost_usd >= 0) || r.max_cost_usd > 1e9) {
    return make_error(ErrorKind::invalid_input, "--max-cost must be a number of US dollars >= 0");
  }
  return ok_status();
}

double worst_case_cost_usd(const StepInput& root, const Price& price, const PromptSet& prompts,
                           int max_attempts) {
  // Every parent-derived field at the largest size validation lets through.
  TextLimits limits;
  StepInput input = root;
  input.chapter_position = 999;
  input.chapter = {std::string(limits.max_title, 'x'), std::string(limits.max_text, 'x')};
  input.topic_position = 999;
  input.topic = {std::string(limits.max_title, 'x'),
                 std::vector<std::string>(4, std::string(limits.max_text, 'x'))};
  const std::size_t reask_bytes =
      kReaskAnswerBytes + reask_prompt(std::string(kReaskReasonBytes, 'x')).size();
  // Each attempt at the largest request a step sends: a re-ask's four messages.
  auto worst_step = [&](JobKind kind) {
    RenderedStep step = prompts.render(kind, input);
    std::size_t bytes =
        step.system.size() + step.user.size() + step.schema_json.size() + reask_bytes;
    return max_attempts * worst_case_call_usd(price, prompt_token_bound(bytes, 4), step.max_tokens);
  };
  const double chapters = item_bounds(JobKind::subject, root).max;
  const double topics = chapters * item_bounds(JobKind::chapter, root).max;
  double total = worst_step(JobKind::subject) + chapters * worst_step(JobKind::chapter);
  if (root.options.notes) total += topics * worst_step(JobKind::note);
  if (root.options.questions) total += topics * worst_step(JobKind::questions);
  return total;
}

Result<Estimate> estimate_request(const SubmitRequest& request, const Catalog& catalog,
                                  const PriceTable& prices, const PromptSet& prompts,
                                  const History* history) {
  HYDRATE_TRY(validate_request(request));
  auto price = prices.find(request.options.model, request.options.mode);
  if (!price) return price.error();
  const RootOptions asked = resolve_counts(request.options, catalog.lookup(request.slot));
  EstimateInput input;
  input.price = *price;
  input.mode = request.options.mode;
  input.concurrency = request.concurrency;
  if (history && history->roots > 0) {
    input.options = calibrated_counts(*history, asked);
    input.tokens = calibrated_token_profile(*history, input.options);
    input.history_roots = history->roots;
    if (history->used_calls > 0) {
      input.seconds_per_step =
          history->used_latency_ms / static_cast<double>(history->used_calls) / 1000.0;
    }
  } else {
    input.options = asked;
    input.tokens = default_token_profile(input.options);
  }
  Estimate estimate = estimate_subject(input);
  if (request.options.mode == CallMode::batch) {  // what the same tokens cost online
    EstimateInput online = input;
    online.price = *prices.find(request.options.model);
    online.mode = CallMode::online;
    estimate.online_cost_usd = estimate_subject(online).cost_usd;
  }
  StepInput root;
  root.slot = request.slot;
  root.options = asked;
  estimate.worst_case_usd = worst_case_cost_usd(root, *price, prompts, request.max_attempts);
  return estimate;
}

Result<SubmitResult> submit_subject(store::Store& store, const SubmitRequest& request,
                                    const Catalog& catalog, const PriceTable& prices,
                                    const PromptSet& prompts, Millis now) {
  HYDRATE_TRY(validate_request(request));
  auto history = store.history(request.options.model, request.slot, kHistoryRoots);
  if (!history) return history.error();
  auto estimate = estimate_request(request, catalog, prices, prompts, &*history);
  if (!estimate) return estimate.error();
  if (request.max_cost_usd > 0 && estimate->cost_usd > request.max_cost_usd && !request.force) {
    return make_error(ErrorKind::over_budget,
                      fmt::format("estimated cost ${:.4f} exceeds --max-cost ${:.4f}; raise the "
                                  "budget or add --force to accept a partial tree",
                                  estimate->cost_usd, request.max_cost_usd));
  }
  StepInput input;
  input.slot = request.slot;
  input.options = resolve_counts(request.options, catalog.lookup(request.slot));
  store::NewRoot root;
  root.job = make_root_job(input, request.priority, request.max_attempts, now);
  root.job.estimated_cost_usd = estimate->cost_usd;
  root.slot = request.slot;
  root.options = input.options;
  root.dedupe_key = fmt::format("{}|{}|{}|{}|{}", to_lower(request.slot.language),
                                to_lower(request.slot.board), to_lower(request.slot.grade),
                                to_lower(request.slot.subject), encode_root_options(input.options));
  root.trace_id = new_trace_id(now);
  root.estimates_json = estimate_json(*estimate, input.options.model);
  root.estimated_cost_usd = estimate->cost_usd;
  root.budget_usd = request.max_cost_usd;
  root.now = now;
  auto outcome = store.submit_root(root);
  if (!outcome) return outcome.error();
  return SubmitResult{std::move(*outcome), *estimate};
}

}  // namespace hydrate
