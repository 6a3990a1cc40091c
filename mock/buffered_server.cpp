#include "mock/buffered_server.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace hydrate::mock {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadBufferSize = 64 * 1024;
// Written bytes held back at most; a larger answer goes out in pieces of about this size.
constexpr std::size_t kWriteBufferSize = 64 * 1024;
// How long one blocking read waits before its caller looks at the clock and at stop() again.
constexpr std::chrono::milliseconds kReadTick{100};

// An address as httplib writes it into Request::remote_addr and local_addr.
void describe(const sockaddr_storage& address, socklen_t length, std::string& ip, int& port) {
  if (address.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  } else if (address.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  } else {
    return;
  }
  std::array<char, NI_MAXHOST> host{};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host.data(),
                  static_cast<socklen_t>(host.size()), nullptr, 0, NI_NUMERICHOST) == 0) {
    ip = host.data();
  }
}

// One end of a connection, asked of the kernel (getpeername, getsockname) the first time only.
class ConnectionAddress {
 public:
  using Query = int (*)(int, sockaddr*, socklen_t*);
  void copy(int sock, Query query, std::string& ip, int& port) {
    if (!known_) {
      sockaddr_storage address{};
      socklen_t length = sizeof(address);
      if (query(sock, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        describe(address, length, ip_, port_);
      }
      known_ = true;
    }
    ip = ip_;
    port = port_;
  }

 private:
  bool known_ = false;
  std::string ip_;
  int port_ = -1;
};

// One connection's stream, for all of its requests. Reads block on the socket, whose receive
// timeout is kReadTick, and give up when their deadline passes; writes gather in a buffer that
// flush() sends, and that every read flushes first (so an interim "100 Continue" reaches the
// client before the body is awaited).
class BufferedStream final : public httplib::Stream {
 public:
  BufferedStream(int sock, std::chrono::microseconds read_timeout)
      : sock_(sock), read_timeout_(read_timeout), in_(kReadBufferSize) {
    out_.reserve(kWriteBufferSize);
    timeval tick{};
    tick.tv_usec = static_cast<suseconds_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(kReadTick).count());
    setsockopt(sock_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
  }

  // True once a request's first bytes are here; false when the peer closed, the socket failed,
  // `idle` passed without a byte, or `listening` became invalid (the server is stopping).
  bool await_request(std::chrono::seconds idle, const std::atomic<socket_t>& listening) {
    if (begin_ < end_) return true;
    if (!flush()) return false;
    const auto deadline = Clock::now() + idle;
    return fill([&] { return listening != INVALID_SOCKET && Clock::now() < deadline; }) > 0;
  }

  // Sends what was written; false when the socket refused it (then every later write fails).
  bool flush() {
    std::size_t sent = 0;
    while (!broken_ && sent < out_.size()) {
      const ssize_t n = send(sock_, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        broken_ = true;  // the peer is gone, or the socket's send timeout passed
      }
    }
    out_.clear();
    return !broken_;
  }

  bool is_readable() const override { return begin_ < end_ || !broken_; }
  bool is_writable() const override { return !broken_; }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (!flush()) return -1;
      const auto deadline = Clock::now() + read_timeout_;
      const ssize_t n = fill([&] { return Clock::now() < deadline; });
      if (n <= 0) return n;
    }
    const std::size_t taken = std::min(size, end_ - begin_);
    std::memcpy(ptr, in_.data() + begin_, taken);
    begin_ += taken;
    return static_cast<ssize_t>(taken);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (broken_) return -1;
    if (out_.size() + size > kWriteBufferSize) {
      if (!flush()) return -1;
      if (size >= kWriteBufferSize) {
        // As large as the buffer: send it from where it is, through the buffer's loop.
        out_.assign(ptr, ptr + size);
        return flush() ? static_cast<ssize_t>(size) : -1;
      }
    }
    out_.insert(out_.end(), ptr, ptr + size);
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    remote_.copy(sock_, getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    local_.copy(sock_, getsockname, ip, port);
  }

  socket_t socket() const override { return sock_; }

 private:
  // Reads into the empty buffer: the bytes read, 0 when the peer closed, -1 on an error or when
  // `keep_waiting` says no after a tick without a byte.
  template <typename KeepWaiting>
  ssize_t fill(KeepWaiting keep_waiting) {
    begin_ = end_ = 0;
    while (true) {
      const ssize_t n = recv(sock_, in_.data(), in_.size(), 0);
      if (n > 0) {
        end_ = static_cast<std::size_t>(n);
        return n;
      }
      if (n == 0) return 0;
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && keep_waiting()) continue;
      return -1;
    }
  }

  const int sock_;
  const std::chrono::microseconds read_timeout_;
  std::vector<char> in_;
  std::size_t begin_ = 0;  // in_[begin_, end_) is read but not taken
  std::size_t end_ = 0;
  std::vector<char> out_;
  bool broken_ = false;
  mutable ConnectionAddress remote_;
  mutable ConnectionAddress local_;
};

}  // namespace

bool BufferedServer::process_and_close_socket(socket_t sock) {
  bool ret = false;
  {
    BufferedStream stream(sock, std::chrono::seconds(read_timeout_sec_) +
                                    std::chrono::microseconds(read_timeout_usec_));
    const std::chrono::seconds idle(keep_alive_timeout_sec_);
    for (std::size_t left = keep_alive_max_count_;
         left > 0 && svr_sock_ != INVALID_SOCKET && stream.await_request(idle, svr_sock_); --left) {
      bool connection_closed = false;
      ret = process_request(stream, left == 1, connection_closed, nullptr);
      if (!stream.flush()) ret = false;
      if (!ret || connection_closed) break;
    }
  }
  shutdown(sock, SHUT_RDWR);
  close(sock);
  return ret;
}

}  // namespace hydrate::mock
