#pragma once
// A fresh directory per test under $TMPDIR (or /tmp): removed when the test passes, kept and its
// path printed when the test failed, so the evidence (databases, logs) survives for a look.
#include <filesystem>
#include <string>

namespace hydrate::testing {

class TempDir {
 public:
  // Creates $TMPDIR/<prefix>.XXXXXX with mkdtemp; throws std::runtime_error when it cannot.
  explicit TempDir(const std::string& prefix = "hydrate-test");
  // Removes the directory, unless keep() was called, HYDRATE_KEEP_TEST_DIRS is set, or the
  // current doctest test case has failed so far; a kept directory's path goes to stderr.
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string (for flags and URLs).
  std::string file(const std::string& name) const;
  // Keep the directory whatever the outcome.
  void keep() { keep_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

// True when an assertion of the running doctest test case has failed (or it threw).
bool current_test_failed();

}  // namespace hydrate::testing
