// hydrate-cutting-proxy: a test-only TCP proxy on 127.0.0.1 that forwards every connection to
// one server (PostgreSQL in the tests) and cuts connections at a seeded rate per forwarded chunk,
// in both directions: the chunk that draws the cut is passed on only in part (a random prefix,
// maybe none), then both sockets are reset (SO_LINGER 0, so the peers see ECONNRESET, not an
// orderly end). It plays a network that loses connections under a client, mid-handshake,
// mid-transaction or mid-commit.
//
// Prints "listening on 127.0.0.1:PORT" as its first line on stdout, one line per cut on stderr,
// and on SIGTERM or SIGINT "connections N, chunks N, cuts N" on stdout, then exits 0.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop(int) {
  g_stop = 1;
}

struct Options {
  int port = 0;  // 0: any free port
  int target_port = 0;
  double cut_rate = 0.01;  // probability that a forwarded chunk cuts its connection
  std::uint64_t seed = 1;
  int first_connections = 0;  // the first N connections accepted use first_cut_rate instead
  double first_cut_rate = 0;
};

// Bytes read from one side and not yet written to the other.
struct Pending {
  std::string bytes;
  std::size_t sent = 0;
  bool empty() const { return sent == bytes.size(); }
};

struct Link {
  int client = -1, server = -1;
  long id = 0;
  double cut_rate = 0;
  long chunks = 0;
  Pending to_server, to_client;
};

struct Totals {
  long connections = 0, chunks = 0, cuts = 0;
};

void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Closes fd so that its peer sees a reset rather than an orderly end of stream.
void reset(int fd) {
  linger abort_now{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
  close(fd);
}

int listen_on_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(fd, 128) != 0) {
    throw std::runtime_error(
        fmt::format("cannot listen on 127.0.0.1:{}: {}", port, std::strerror(errno)));
  }
  set_nonblocking(fd);
  return fd;
}

int bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// A connection to the target on loopback, or -1.
int connect_to_target(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  set_nonblocking(fd);
  return fd;
}

// Writes what it can of pending to fd; false when fd failed.
bool flush(int fd, Pending& pending) {
  while (!pending.empty()) {
    ssize_t n = send(fd, pending.bytes.data() + pending.sent, pending.bytes.size() - pending.sent,
                     MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    pending.sent += static_cast<std::size_t>(n);
  }
  pending.bytes.clear();
  pending.sent = 0;
  return true;
}

class Proxy {
 public:
  explicit Proxy(const Options& options) : options_(options), random_(options.seed) {
    listener_ = listen_on_loopback(options.port);
  }

  int port() const { return bound_port(listener_); }
  const Totals& totals() const { return totals_; }

  // Serves until a stop signal.
  void serve() {
    while (!g_stop) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      std::vector<long> owners{0};
      for (auto& [id, link] : links_) {
        // Read a side only once what it sent before is passed on (back-pressure).
        short from_client =
            (link.to_server.empty() ? POLLIN : 0) | (link.to_client.empty() ? 0 : POLLOUT);
        short from_server =
            (link.to_client.empty() ? POLLIN : 0) | (link.to_server.empty() ? 0 : POLLOUT);
        fds.push_back({link.client, from_client, 0});
        fds.push_back({link.server, from_server, 0});
        owners.push_back(id);
        owners.push_back(id);
      }
      if (poll(fds.data(), fds.size(), 200) < 0) continue;  // EINTR: a signal, maybe the stop
      if (fds[0].revents & POLLIN) accept_all();
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        auto it = links_.find(owners[i]);
        if (it == links_.end()) continue;  // ended by the other side's event in this round
        if (!service(it->second, fds[i].fd == it->second.client, fds[i].revents)) {
          links_.erase(it);
        }
      }
    }
    for (auto& [id, link] : links_) {
      close(link.client);
      close(link.server);
    }
  }

 private:
  void accept_all() {
    while (true) {
      int client = accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      ++totals_.connections;
      int server = connect_to_target(options_.target_port);
      if (server < 0) {
        std::fprintf(stderr, "cannot reach 127.0.0.1:%d: %s\n", options_.target_port,
                     std::strerror(errno));
        reset(client);
        continue;
      }
      set_nonblocking(client);
      Link link;
      link.client = client;
      link.server = server;
      link.id = totals_.connections;
      link.cut_rate =
          link.id <= options_.first_connections ? options_.first_cut_rate : options_.cut_rate;
      links_.emplace(link.id, std::move(link));
    }
  }

  // Handles events on one side of a link; false once the link has ended.
  bool service(Link& link, bool client_side, short events) {
    int from = client_side ? link.client : link.server;
    int to = client_side ? link.server : link.client;
    Pending& outgoing = client_side ? link.to_server : link.to_client;
    Pending& incoming = client_side ? link.to_client : link.to_server;
    if ((events & POLLOUT) && !flush(from, incoming)) return end(link);
    if (!(events & (POLLIN | POLLHUP | POLLERR))) return true;
    char buffer[65536];
    ssize_t n = recv(from, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    if (n <= 0) return end(link);  // the peer closed or reset: pass the end on
    ++link.chunks;
    ++totals_.chunks;
    if (std::bernoulli_distribution(link.cut_rate)(random_)) {
      auto passed = std::uniform_int_distribution<ssize_t>(0, n - 1)(random_);
      if (passed > 0) send(to, buffer, static_cast<std::size_t>(passed), MSG_NOSIGNAL);
      ++totals_.cuts;
      std::fprintf(stderr, "cut connection %ld after %ld chunks (%s, %zd of %zd bytes passed)\n",
                   link.id, link.chunks, client_side ? "client to server" : "server to client",
                   passed, n);
      reset(link.client);
      reset(link.server);
      return false;
    }
    outgoing.bytes.append(buffer, static_cast<std::size_t>(n));
    if (!flush(to, outgoing)) return end(link);
    return true;
  }

  bool end(Link& link) {
    close(link.client);
    close(link.server);
    return false;
  }

  Options options_;
  std::mt19937_64 random_;
  int listener_ = -1;
  std::map<long, Link> links_;
  Totals totals_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"test-only TCP proxy on 127.0.0.1 that cuts connections at a seeded rate"};
  app.add_option("--port", options.port, "port to listen on (0: any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--target-port", options.target_port, "port of the server on 127.0.0.1")
      ->required()
      ->check(CLI::Range(1, 65535));
  app.add_option("--cut-rate", options.cut_rate, "probability that a chunk cuts its connection")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", options.seed, "seed of the cuts");
  app.add_option("--first-connections", options.first_connections,
                 "the first N connections accepted are cut at --first-cut-rate instead")
      ->check(CLI::Range(0, 1 << 30));
  app.add_option("--first-cut-rate", options.first_cut_rate, "cut rate of the first connections")
      ->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction stop {};
  stop.sa_handler = on_stop;  // no SA_RESTART: poll returns at once
  sigaction(SIGTERM, &stop, nullptr);
  sigaction(SIGINT, &stop, nullptr);
  try {
    Proxy proxy(options);
    std::printf("listening on 127.0.0.1:%d\n", proxy.port());
    std::fflush(stdout);
    proxy.serve();
    const Totals& totals = proxy.totals();
    std::printf("connections %ld, chunks %ld, cuts %ld\n", totals.connections, totals.chunks,
                totals.cuts);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hydrate-cutting-proxy: %s\n", e.what());
    return 1;
  }
}
