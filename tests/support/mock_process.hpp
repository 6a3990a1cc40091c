#pragma once
// The local endpoint (hydrate-mock-llm) as a child process of a test: started on a free loopback
// port, stopped with SIGTERM when the object goes away, so no test leaves one running.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace hydrate::testing {

// How a process ended and what it wrote.
struct ProcessExit {
  int exit_code = -1;  // the exit status, or 128 + signal number when a signal ended it
  std::string stdout_text;
  std::string stderr_text;
};

class MockProcess {
 public:
  // Starts HYDRATE_MOCK_LLM_PATH with --port 0 and `extra_args`, and waits (up to 30 s) for its
  // "listening on http://HOST:PORT" line. Throws std::runtime_error when it cannot start or
  // exits first (the message carries its exit status).
  explicit MockProcess(std::vector<std::string> extra_args = {});
  ~MockProcess();
  MockProcess(const MockProcess&) = delete;
  MockProcess& operator=(const MockProcess&) = delete;

  // The OpenAI base URL, e.g. "http://127.0.0.1:41234/v1".
  const std::string& base_url() const { return base_url_; }
  // Without the "/v1", for /health and /stats: "http://127.0.0.1:41234".
  const std::string& root_url() const { return root_url_; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // Sends SIGTERM and waits (SIGKILL after 10 s); returns the exit code as in ProcessExit.
  // Calling it again returns the same code.
  int stop();

  // Runs the endpoint with exactly `args` until it exits on its own (a bad flag, --help), killing
  // it after `deadline`; captures stdout and stderr.
  static ProcessExit run_to_exit(const std::vector<std::string>& args,
                                 std::chrono::milliseconds deadline = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int exit_code_ = -1;
  std::string host_;
  int port_ = 0;
  std::string root_url_;
  std::string base_url_;
};

}  // namespace hydrate::testing
