#pragma once
// Memo: values made from their key by a pure function, made once and kept, for work a hot path
// repeats with a few keys (a response schema's text for each kind and bounds, for each dialect).
// Shared by threads; at most `capacity` values are kept, then all are forgotten and made again.
#include <cstddef>
#include <map>
#include <mutex>

namespace hydrate {

template <class Key, class Value>
class Memo {
 public:
  explicit Memo(std::size_t capacity) : capacity_(capacity) {}

  // The value of key, from make() the first time (make runs under the memo's lock).
  template <class Make>
  Value get(const Key& key, Make make) {
    std::lock_guard lock(mutex_);
    if (auto known = made_.find(key); known != made_.end()) return known->second;
    if (made_.size() >= capacity_) made_.clear();
    return made_.emplace(key, make()).first->second;
  }

 private:
  const std::size_t capacity_;
  std::mutex mutex_;
  std::map<Key, Value> made_;
};

}  // namespace hydrate
