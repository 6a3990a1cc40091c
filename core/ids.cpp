#include "core/ids.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <random>

namespace hydrate {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::uint64_t random_u64() {
  static std::mutex mutex;
  static std::mt19937_64 engine{[] {
    std::random_device device;
    std::seed_seq seq{device(), device(), device(), device()};
    return std::mt19937_64(seq);
  }()};
  std::lock_guard lock(mutex);
  return engine();
}

}  // namespace

std::string new_job_id(Millis now) {
  std::string id(26, '0');
  auto time = static_cast<std::uint64_t>(now);
  for (int i = 9; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kCrockford[time & 31];
    time >>= 5;
  }
  std::uint64_t hi = random_u64();
  std::uint64_t lo = random_u64();
  for (int i = 10; i < 26; ++i) {  // 16 characters, 80 random bits
    std::uint64_t& source = i < 18 ? hi : lo;
    id[static_cast<std::size_t>(i)] = kCrockford[source & 31];
    source >>= 5;
  }
  return id;
}

std::string new_lease_token() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (auto word : {random_u64(), random_u64()}) {
    for (int i = 0; i < 16; ++i) {
      token.push_back(kHex[word & 15]);
      word >>= 4;
    }
  }
  return token;
}

std::string new_trace_id(Millis now) {
  return "hydrate-" + new_job_id(now);
}

bool looks_like_job_id(std::string_view text) {
  if (text.size() != 26) return false;
  for (char c : text) {
    if (kCrockford.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace hydrate
