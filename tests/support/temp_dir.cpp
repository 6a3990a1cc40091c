#include "tests/support/temp_dir.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <vector>

#include <doctest/doctest.h>

namespace hydrate::testing {
namespace {

std::atomic<bool> g_current_test_failed{false};

// A doctest listener that notes failures of the running test case; doctest has no public query.
struct FailureListener : doctest::IReporter {
  explicit FailureListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { g_current_test_failed = false; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {
    g_current_test_failed = true;
  }
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& data) override {
    if (data.m_failed) g_current_test_failed = true;
  }
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("hydrate_failure_listener", 1, FailureListener);

}  // namespace

bool current_test_failed() {
  return g_current_test_failed || std::uncaught_exceptions() > 0;
}

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  const std::filesystem::path parent = base != nullptr && *base != '\0' ? base : "/tmp";
  std::string pattern = (parent / (prefix + ".XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary directory " + pattern + ": " +
                             std::strerror(errno));
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  const char* keep_all = std::getenv("HYDRATE_KEEP_TEST_DIRS");
  if (keep_ || current_test_failed() || (keep_all != nullptr && *keep_all != '\0')) {
    std::cerr << "kept test directory: " << path_.string() << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(const std::string& name) const {
  return (path_ / name).string();
}

}  // namespace hydrate::testing
