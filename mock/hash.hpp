#pragma once
// Stable 64-bit hashing for every deterministic choice the endpoint makes (content, counts,
// faults). FNV-1a over bytes, finished with a splitmix64 mix; identical on every platform.
#include <cstdint>
#include <string_view>

namespace hydrate::mock {

// splitmix64's finaliser: spreads a 64-bit value over all bits.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Accumulates strings and numbers into one hash; the order of add() calls matters.
class Hasher {
 public:
  explicit Hasher(std::uint64_t seed = 0) : state_(0xcbf29ce484222325ULL ^ mix64(seed)) {}

  Hasher& add(std::string_view bytes) {
    for (unsigned char c : bytes) {
      state_ = (state_ ^ c) * 0x100000001b3ULL;
    }
    return add_number(bytes.size());
  }
  Hasher& add(std::uint64_t number) { return add_number(number); }

  std::uint64_t value() const { return mix64(state_); }

 private:
  Hasher& add_number(std::uint64_t number) {
    state_ = mix64(state_ ^ mix64(number + 0x632be59bd9b4e019ULL));
    return *this;
  }
  std::uint64_t state_;
};

// Derives an independent hash for a sub-decision (a salt such as an index or a step number).
constexpr std::uint64_t derive(std::uint64_t hash, std::uint64_t salt) {
  return mix64(hash ^ mix64(salt + 0x2545f4914f6cdd1dULL));
}

// A uniform number in [0, 1) from a hash.
constexpr double unit_interval(std::uint64_t hash) {
  return static_cast<double>(hash >> 11) * (1.0 / 9007199254740992.0);
}

// A number in [lo, hi] (inclusive) from a hash; lo when hi <= lo.
constexpr std::int64_t pick_in_range(std::uint64_t hash, std::int64_t lo, std::int64_t hi) {
  if (hi <= lo) {
    return lo;
  }
  const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(hash % span);
}

}  // namespace hydrate::mock
