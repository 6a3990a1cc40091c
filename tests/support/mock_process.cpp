#include "tests/support/mock_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#ifndef HYDRATE_MOCK_LLM_PATH
#error "HYDRATE_MOCK_LLM_PATH must name the hydrate-mock-llm binary"
#endif

namespace hydrate::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStartDeadline = std::chrono::seconds(30);
constexpr auto kStopDeadline = std::chrono::seconds(10);
constexpr std::string_view kListening = "listening on http://";

struct Pipe {
  int read_end = -1;
  int write_end = -1;
};

Pipe make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(fmt::format("pipe2 failed: {}", std::strerror(errno)));
  }
  return {fds[0], fds[1]};
}

// fork + exec with stdout (and optionally stderr) sent into pipes. Only async-signal-safe calls
// happen between fork and exec, as the test program may run threads.
pid_t spawn(const std::vector<std::string>& args, int stdout_fd, int stderr_fd) {
  std::vector<char*> argv;
  for (const auto& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error(fmt::format("fork failed: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // a crashed test does not leave the endpoint running
    if (getppid() != parent) _exit(127);
    if (dup2(stdout_fd, STDOUT_FILENO) < 0) _exit(127);
    if (stderr_fd >= 0 && dup2(stderr_fd, STDERR_FILENO) < 0) _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for the child until the deadline; -1 when it is still running.
int wait_until(pid_t pid, Clock::time_point deadline) {
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return decode_status(status);
    if (done < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int terminate(pid_t pid) {
  kill(pid, SIGTERM);
  int code = wait_until(pid, Clock::now() + kStopDeadline);
  if (code < 0) {
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    code = decode_status(status);
  }
  return code;
}

// Reads what is available from fd within the remaining time; false on end of file or timeout.
bool read_some(int fd, std::string& into, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd watched{fd, POLLIN, 0};
  const int ready = poll(&watched, 1, static_cast<int>(left.count()));
  if (ready < 0 && errno == EINTR) return true;
  if (ready <= 0) return false;
  char buffer[4096];
  const ssize_t got = read(fd, buffer, sizeof(buffer));
  if (got < 0 && errno == EINTR) return true;
  if (got <= 0) return false;
  into.append(buffer, static_cast<std::size_t>(got));
  return true;
}

// Reads both pipes until both reach end of file or the deadline passes.
void drain(int out_fd, int err_fd, ProcessExit& into, Clock::time_point deadline) {
  const int fds[2] = {out_fd, err_fd};
  std::string* sinks[2] = {&into.stdout_text, &into.stderr_text};
  bool open[2] = {true, true};
  while ((open[0] || open[1]) && Clock::now() < deadline) {
    pollfd watched[2];
    int slots[2];
    nfds_t count = 0;
    for (int i = 0; i < 2; ++i) {
      if (open[i]) {
        watched[count] = {fds[i], POLLIN, 0};
        slots[count++] = i;
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int ready = poll(watched, count, static_cast<int>(std::max<long>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    for (nfds_t i = 0; i < count; ++i) {
      if (watched[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t got = read(watched[i].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[slots[i]]->append(buffer, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        open[slots[i]] = false;
      }
    }
  }
}

}  // namespace

MockProcess::MockProcess(std::vector<std::string> extra_args) {
  std::vector<std::string> args = {HYDRATE_MOCK_LLM_PATH, "--port", "0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const Pipe out = make_pipe();
  try {
    pid_ = spawn(args, out.write_end, -1);
  } catch (...) {
    close(out.read_end);
    close(out.write_end);
    throw;
  }
  close(out.write_end);
  stdout_fd_ = out.read_end;

  std::string text;
  const auto deadline = Clock::now() + kStartDeadline;
  while (text.find('\n') == std::string::npos && read_some(stdout_fd_, text, deadline)) {
  }
  const std::string line = text.substr(0, text.find('\n'));
  const auto colon = line.rfind(':');
  if (line.rfind(kListening, 0) != 0 || colon == std::string::npos || colon < kListening.size()) {
    const int code = stop();
    throw std::runtime_error(fmt::format(
        "{} did not report 'listening on http://HOST:PORT' (first line: '{}', exit code {})",
        HYDRATE_MOCK_LLM_PATH, line, code));
  }
  host_ = line.substr(kListening.size(), colon - kListening.size());
  port_ = std::stoi(line.substr(colon + 1));
  root_url_ = fmt::format("http://{}:{}", host_, port_);
  base_url_ = root_url_ + "/v1";
}

MockProcess::~MockProcess() {
  stop();
}

int MockProcess::stop() {
  if (pid_ > 0) {
    exit_code_ = terminate(pid_);
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
  }
  return exit_code_;
}

ProcessExit MockProcess::run_to_exit(const std::vector<std::string>& args,
                                     std::chrono::milliseconds deadline) {
  std::vector<std::string> argv = {HYDRATE_MOCK_LLM_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  const Pipe out = make_pipe();
  const Pipe err = make_pipe();
  const pid_t pid = spawn(argv, out.write_end, err.write_end);
  close(out.write_end);
  close(err.write_end);
  ProcessExit result;
  const auto until = Clock::now() + deadline;
  drain(out.read_end, err.read_end, result, until);
  close(out.read_end);
  close(err.read_end);
  result.exit_code = wait_until(pid, until);
  if (result.exit_code < 0) {
    result.exit_code = terminate(pid);
  }
  return result;
}

}  // namespace hydrate::testing
