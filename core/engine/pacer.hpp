#pragma once
// Pacer: keeps a worker's sends within the account's rate limit, which every worker of the
// database shares through the store's rate bucket (Store::take_rate). While the provider's
// headers show plenty of headroom and no cap is set, it grants without touching the database;
// once a cap is set, a 429 rate limit arrives, or the headers show less than half the window
// left, every send of that model goes through the shared bucket, with the headers and each
// call's over-estimate of its prompt fed back in.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/llm/chat_protocol.hpp"
#include "core/store/store.hpp"

namespace hydrate::engine {

class Pacer {
 public:
  Pacer(store::Store& store, std::string endpoint, int cap_rpm, std::int64_t cap_tpm)
      : store_(store), endpoint_(std::move(endpoint)), cap_rpm_(cap_rpm), cap_tpm_(cap_tpm) {}

  // How many of the waiting requests of model (each reserving tokens[i], in order) may be sent
  // at now; the caller sends that many from the front. A store error grants none for a while.
  int admit(const std::string& model, const std::vector<std::int64_t>& tokens, Millis now);

  // What an answer of model said: its headers, whether it was a 429 rate limit, and its
  // reservation (prompt estimate plus max output) against what the provider counted against the
  // limit (its prompt plus the same max output).
  void on_answer(const std::string& model, const llm::ChatResult& result,
                 std::int64_t reserved_tokens, std::int64_t billed_tokens, Millis now);

  // True once model's sends go through the shared bucket.
  bool engaged(const std::string& model) const;

 private:
  struct Bucket {
    bool engaged = false;
    Millis retry_at = 0;  // no take before this
    std::int64_t refund = 0;
    std::vector<RateObservation> observed;
  };
  Bucket& bucket(const std::string& model);

  store::Store& store_;
  std::string endpoint_;
  int cap_rpm_;
  std::int64_t cap_tpm_;
  std::map<std::string, Bucket> buckets_;
};

// A request's reservation against the token limit: its prompt, estimated at four bytes a token,
// plus the most it may write.
std::int64_t reserved_tokens(std::size_t prompt_bytes, int max_tokens);

}  // namespace hydrate::engine
