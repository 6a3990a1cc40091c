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

#include "mock/faults.hpp"
#include "mock/hostile.hpp"
#include "mock/lexicon.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

class Stats {
 public:
  // One POST /v1/chat/completions answered with `status` (0 when the connection was dropped);
  // `fault` is empty for requests refused before a fault was decided (401, 400).
  void record(int status, std::optional<Fault> fault);
  // One answer of the hostile fault, of this kind (counted besides record's fault).
  void record_hostile(HostileKind kind);
  // One answer of the wrong-language fault, written in `language` (besides record's "none").
  void record_wrong_language(Language language);
  // One answer that carried usage.
  void bill(const Usage& usage);
  // {"requests":{"total","byStatus","byFault","byHostile","byWrongLanguage"},"billed":{
  //  "promptTokens","completionTokens","cachedTokens","calls"}}; byWrongLanguage counts the
  //  wrong-language answers by the language they were written in ("en", "hi", "fr", "es").
  std::string to_json() const;

 private:
  mutable std::mutex mutex_;
  std::int64_t total_ = 0;
  std::map<int, std::int64_t> by_status_;
  std::array<std::int64_t, kAllFaults.size()> by_fault_{};
  std::array<std::int64_t, kAllHostileKinds.size()> by_hostile_{};
  std::array<std::int64_t, kAllLanguages.size()> by_wrong_language_{};
  std::int64_t prompt_tokens_ = 0;
  std::int64_t completion_tokens_ = 0;
  std::int64_t billed_calls_ = 0;
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
