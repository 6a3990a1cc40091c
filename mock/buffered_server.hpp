#pragma once
// httplib's server with its socket I/O replaced, because httplib's own made the kernel half of
// the endpoint's CPU: for every answer it polled before each read and each write (and peeked at
// the socket to see it alive), sent the header and the body apart, and asked the kernel for both
// addresses again: 11 system calls. This server keeps all of httplib's HTTP (parsing, routing,
// handlers, error pages, keep-alive and its limits, compression, multipart) by calling its
// process_request, and gives it a stream per connection that reads through one buffer with
// blocking reads, holds writes until the answer is written (or its first 64 KiB are) and sends
// them at once, and reads the two addresses once: a recv and a send an answer.
#include <httplib.h>

namespace hydrate::mock {

class BufferedServer : public httplib::Server {
 private:
  // The keep-alive loop of httplib's, over a BufferedStream: up to keep_alive_max_count_
  // requests, each awaited for keep_alive_timeout_sec_ (the wait ends early once stop() has been
  // called) and read within read_timeout_*; then the socket is shut down and closed.
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace hydrate::mock
