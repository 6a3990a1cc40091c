#pragma once
// A loopback port that refuses connections, for the "endpoint down" cases of the HTTP clients'
// tests: bound, never listening, held for the object's life so no other process takes it.

namespace hydrate::testing {

class RefusingPort {
 public:
  // Binds 127.0.0.1 on a free port; fails the running doctest test case when it cannot.
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

}  // namespace hydrate::testing
