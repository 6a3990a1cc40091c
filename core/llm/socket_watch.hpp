#pragma once
// SocketWatch: the sockets a libcurl multi handle asks to have watched (its socket API), on one
// epoll instance. A wait returns only the sockets that are ready, so a wake-up costs what is
// ready, not what is in flight. Level-triggered: a socket still ready is returned again.
#include <vector>

namespace hydrate::llm {

class SocketWatch {
 public:
  struct Ready {
    int fd = -1;
    bool in = false;     // readable (or closed by the peer)
    bool out = false;    // writable
    bool error = false;  // an error or a hang-up on the socket
  };

  SocketWatch();  // ok() is false when the kernel gave no epoll instance
  ~SocketWatch();
  SocketWatch(const SocketWatch&) = delete;
  SocketWatch& operator=(const SocketWatch&) = delete;

  bool ok() const { return epoll_fd_ >= 0; }
  // Watches fd for the directions asked, replacing what was asked of it before.
  void watch(int fd, bool in, bool out);
  // Stops watching fd (the socket is about to close); a socket not watched is no error.
  void forget(int fd);
  // Waits at most timeout_ms (0: only looks) and returns the sockets ready, at most 256 at a
  // time; an interrupted wait returns none.
  const std::vector<Ready>& wait(int timeout_ms);

 private:
  int epoll_fd_ = -1;
  std::vector<Ready> ready_;
};

}  // namespace hydrate::llm
