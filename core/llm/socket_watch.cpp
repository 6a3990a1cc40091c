#include "core/llm/socket_watch.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace hydrate::llm {

SocketWatch::SocketWatch() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {}

SocketWatch::~SocketWatch() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void SocketWatch::watch(int fd, bool in, bool out) {
  epoll_event event{};
  event.events = (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u);
  event.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }
}

void SocketWatch::forget(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

const std::vector<SocketWatch::Ready>& SocketWatch::wait(int timeout_ms) {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  ready_.clear();
  const int count = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < count; ++i) {
    const std::uint32_t bits = events[i].events;
    ready_.push_back({events[i].data.fd, (bits & (EPOLLIN | EPOLLRDHUP)) != 0,
                      (bits & EPOLLOUT) != 0, (bits & (EPOLLERR | EPOLLHUP)) != 0});
  }
  return ready_;
}

}  // namespace hydrate::llm
