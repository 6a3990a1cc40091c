#pragma once
// What the endpoint has answered, for GET /stats and GET /v1/models: request counts by HTTP
// status and by fault, the tokens it billed, the models it was asked for. Thread-safe.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock/faults.hpp"
#include "mock/hostile.hpp"
#include "mock/lexicon.hpp"
#include "mock/rate_limiter.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

// Where one line of a batch went: the output file (answered), or the error file as a 4xx answer
// to its body (refused), an injected 500 (server_error) or unanswered when the batch expired.
enum class BatchLineKind { answered, refused, server_error, expired };

class Stats {
 public:
  // One POST /v1/chat/completions answered with `status` (0 when the connection was dropped);
  // `fault` is empty for requests refused before a fault was decided (401, 400).
  void record(int status, std::optional<Fault> fault);
  // One answer of the hostile fault, of this kind (counted besides record's fault).
  void record_hostile(HostileKind kind);
  // One answer of the wrong-language fault, written in `language` (besides record's "none").
  void record_wrong_language(Language language);
  // One answer that carried usage (or would have: a flavor that omits usage still bills).
  void bill(const Usage& usage);
  // One request the rate limiter admitted, with the tokens it counted for it.
  void record_admitted(std::int64_t tokens);
  // One request the rate limiter refused (a 429 of its own, apart from injected --rate-429).
  void record_limited(LimitKind kind);
  // One request answered 503 because the model was still loading (--loading-ms).
  void record_loading();
  // One batch created (POST /v1/batches answered 200).
  void record_batch_created();
  // One batch reached its final `status`: "completed", "failed", "expired" or "cancelled".
  void record_batch_end(const std::string& status);
  // One line of a batch written to its output or error file; `billed` for an answered line.
  void record_batch_line(BatchLineKind kind, const std::optional<Usage>& billed);
  // {"requests":{"total","byStatus","byFault","byHostile","byWrongLanguage","loading"},
  //  "limiter":{"admitted":{"requests","tokens"},"refused":{"total","requests","tokens"}},
  //  "billed":{"promptTokens","completionTokens","reasoningTokens","cachedTokens","calls"}}
  //  "batches":{"created","byStatus":{"completed","failed","expired","cancelled"},
  //   "lines":{"answered","errors","refused","serverErrors","expired"},
  //   "billed":{"promptTokens","completionTokens","reasoningTokens","calls"}}}
  //  byWrongLanguage counts the wrong-language answers by the language they were written in
  //  ("en", "hi", "fr", "es"). "billed" counts the online answers only, batches.billed the
  //  answered lines of batches.
  std::string to_json() const;

 private:
  nlohmann::ordered_json batches_json() const;  // the "batches" member; mutex_ held

  mutable std::mutex mutex_;
  std::int64_t total_ = 0;
  std::map<int, std::int64_t> by_status_;
  std::array<std::int64_t, kAllFaults.size()> by_fault_{};
  std::array<std::int64_t, kAllHostileKinds.size()> by_hostile_{};
  std::int64_t loading_ = 0;
  std::int64_t admitted_requests_ = 0;
  std::int64_t admitted_tokens_ = 0;
  std::int64_t refused_requests_ = 0;  // by the requests-per-minute limit
  std::int64_t refused_tokens_ = 0;    // by the tokens-per-minute limit
  std::array<std::int64_t, kAllLanguages.size()> by_wrong_language_{};
  std::int64_t prompt_tokens_ = 0;
  std::int64_t completion_tokens_ = 0;
  std::int64_t reasoning_tokens_ = 0;
  std::int64_t billed_calls_ = 0;
  std::int64_t batches_created_ = 0;
  std::map<std::string, std::int64_t> batches_by_status_;
  std::array<std::int64_t, 4> batch_lines_{};  // by BatchLineKind
  Usage batch_billed_;
  std::int64_t batch_billed_calls_ = 0;
};

// The models requests have named, plus the endpoint's default. Thread-safe.
class SeenModels {
 public:
  void note(const std::string& model);
  std::vector<std::string> list() const;  // sorted, at least "gpt-4o-mini"
  // The OpenAI list shape: {"object":"list","data":[{"id","object":"model","created","owned_by"}]}
  std::string to_json() const;

 private:
  mutable std::mutex mutex_;
  std::set<std::string> models_{"gpt-4o-mini"};
};

}  // namespace hydrate::mock
