// hydrate-mock-llm: the project's local OpenAI-compatible endpoint. Parses flags, binds, prints
// "listening on http://HOST:PORT" as its first line on stdout, and serves until SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <limits>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "mock/batch_flags.hpp"
#include "mock/buffered_server.hpp"
#include "mock/endpoint.hpp"
#include "mock/provider_flags.hpp"

namespace {

using hydrate::mock::EndpointOptions;

struct Flags {
  std::string host = "127.0.0.1";
  int port = 0;
  std::size_t threads = 64;
  bool compress = false;
  std::vector<std::string> hostile_kinds;
  hydrate::mock::ProviderFlags provider;
  EndpointOptions endpoint;
};

void add_rate(CLI::App& app, const char* name, double& rate, const char* what) {
  app.add_option(name, rate, fmt::format("probability (0..1) that a request gets {}", what))
      ->check(CLI::Range(0.0, 1.0))
      ->default_val(0.0);
}

void define_flags(CLI::App& app, Flags& flags) {
  app.add_option("--host", flags.host, "address to listen on")->default_val("127.0.0.1");
  app.add_option("--port", flags.port, "port to listen on; 0 picks a free one")
      ->check(CLI::Range(0, 65535))
      ->default_val(0);
  app.add_option("--seed", flags.endpoint.seed, "seed for content and fault decisions")
      ->default_val(1);
  app.add_option("--latency-ms", flags.endpoint.latency_ms, "delay added to every /v1 answer")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{3600000}))
      ->default_val(0);
  hydrate::mock::FaultRates& rates = flags.endpoint.rates;
  add_rate(app, "--rate-429", rates.rate_limited, "a 429 rate limit");
  add_rate(app, "--rate-500", rates.server_error, "a 500 server error");
  add_rate(app, "--rate-503", rates.unavailable, "a 503 service unavailable");
  add_rate(app, "--rate-timeout", rates.timeout, "held, then a 504 or a dropped connection");
  add_rate(app, "--rate-malformed", rates.malformed, "a 200 whose body is not JSON");
  add_rate(app, "--rate-truncated", rates.truncated, "content cut off (finish_reason length)");
  add_rate(app, "--rate-invalid", rates.invalid, "JSON that breaks its schema");
  add_rate(app, "--rate-hostile", rates.hostile,
           "a hostile answer (huge, deeply nested, not UTF-8, control characters, fenced, "
           "prompt injection, a number past double)");
  add_rate(app, "--rate-wrong-language", flags.endpoint.wrong_language_rate,
           "an answer written in another of en, hi, fr, es than the prompt asks for");
  app.add_option("--hostile-kinds", flags.hostile_kinds,
                 "comma-separated kinds a hostile answer picks from: huge, nested, non-utf8, "
                 "control, fenced, injection, number (default: all)")
      ->delimiter(',')
      ->check([](const std::string& name) {
        return hydrate::mock::parse_hostile_kind(name)
                   ? std::string()
                   : "unknown hostile kind '" + name +
                         "' (huge, nested, non-utf8, control, fenced, injection, number)";
      });
  app.add_option("--timeout-hold-ms", flags.endpoint.timeout_hold_ms,
                 "how long a timeout fault holds its request")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{3600000}))
      ->default_val(30000);
  app.add_option("--api-key", flags.endpoint.api_key,
                 "require 'Authorization: Bearer KEY' on /v1 routes ('api-key: KEY' for azure)");
  app.add_option("--quota-after", flags.endpoint.quota_after,
                 "answer every request after the N-th with 429 insufficient_quota (-1: never)")
      ->check(CLI::Range(static_cast<std::int64_t>(-1), std::numeric_limits<std::int64_t>::max()));
  app.add_option("--threads", flags.threads, "worker threads of the HTTP server")
      ->check(CLI::Range(1, 4096))
      ->default_val(64);
  app.add_flag("--compress", flags.compress,
               "encode answers as Accept-Encoding asks (brotli, else gzip), as OpenAI's servers "
               "do; off by default, since brotli costs far more CPU than writing an answer");
  hydrate::mock::define_provider_flags(app, flags.provider, flags.endpoint);
  hydrate::mock::define_batch_flags(app, flags.endpoint.batch);
}

// glibc's per-thread cache keeps 7 freed blocks of a size; an answer frees hundreds of small
// strings and JSON nodes at once, so most frees went on to the arena's bins and most allocations
// came back from them (4 % of the endpoint's instructions). The cache's size is a tunable that
// glibc reads only as a process starts, from GLIBC_TUNABLES: unless the caller set that, the
// endpoint starts itself again (the same process) with a larger cache. If the restart fails it
// runs as it is.
void restart_with_larger_malloc_cache(char** argv) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=1024", 1);
  execv("/proc/self/exe", argv);
  unsetenv("GLIBC_TUNABLES");
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

int main(int argc, char** argv) {
  restart_with_larger_malloc_cache(argv);
  // Blocked first, before any thread exists: SIGINT/SIGTERM are only ever taken by sigtimedwait
  // below, so a stop is always orderly, even one that arrives during start-up.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "hydrate-mock-llm: a local OpenAI-compatible endpoint with deterministic answers "
      "and injectable faults"};
  Flags flags;
  define_flags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::cerr << "hydrate-mock-llm: error: " << error.what() << " (see --help)\n";
    return 2;
  }

  hydrate::mock::apply_provider_flags(flags.provider, flags.endpoint);
  if (!flags.hostile_kinds.empty()) {
    flags.endpoint.hostile_kinds.clear();
    for (const std::string& name : flags.hostile_kinds) {
      flags.endpoint.hostile_kinds.push_back(*hydrate::mock::parse_hostile_kind(name));
    }
  }

  hydrate::mock::Stopper stopper;
  hydrate::mock::Endpoint endpoint(flags.endpoint, stopper);
  hydrate::mock::BufferedServer server;  // httplib with one recv and one send an answer
  const std::size_t threads = flags.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_timeout(2);  // idle connections close soon, so a stop is prompt
  // A connection keeps its pool thread for this many requests, then gives it back (connections
  // beyond --threads wait for one). httplib's 5 makes a busy worker reconnect every fifth call,
  // an accept, a task and a thread hand-over each time: 10-15 % of the endpoint's CPU. With
  // --latency-ms an answer is mostly sleep, so the 5 stays there and a waiting connection never
  // waits long.
  server.set_keep_alive_max_count(flags.endpoint.latency_ms > 0 ? 5 : 100);
  server.set_tcp_nodelay(true);  // no 40 ms Nagle/delayed-ACK stall between an answer's pieces
  // httplib's default options add SO_REUSEPORT, which would let two endpoints share a port
  // unnoticed; plain SO_REUSEADDR still allows a quick restart on the same port.
  int listening_socket = -1;
  server.set_socket_options([&listening_socket](int socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listening_socket = socket;
  });
  // Runs before httplib reads a body. The Request is httplib's own non-const object, handed out
  // as const.
  const bool compress = flags.compress;
  server.set_pre_routing_handler([compress](const httplib::Request& request, httplib::Response&) {
    auto& headers = const_cast<httplib::Request&>(request).headers;
    if (!compress) {
      // httplib encodes every JSON or text answer as the request's Accept-Encoding allows, at
      // brotli's highest quality: 95 % of the endpoint's CPU. Forgetting the header sends every
      // answer as it is; nothing reads it later but the encoder.
      headers.erase("Accept-Encoding");
    }
    // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112, 6.3),
    // as `curl -X POST …/cancel` sends it to OpenAI; httplib would answer such a POST 400.
    if (headers.find("Content-Length") == headers.end() &&
        headers.find("Transfer-Encoding") == headers.end()) {
      headers.emplace("Content-Length", "0");
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  endpoint.install(server);

  const int port = flags.port == 0
                       ? server.bind_to_any_port(flags.host)
                       : (server.bind_to_port(flags.host, flags.port) ? flags.port : -1);
  if (port <= 0) {
    std::cerr << "hydrate-mock-llm: error: cannot listen on " << flags.host << ":" << flags.port
              << " (address in use or not available; pick another --host/--port)\n";
    return 1;
  }
  // httplib listens with a backlog of 5: 32 clients connecting at once would overflow it and
  // have connections dropped. Listening again on the bound socket raises the backlog.
  listen(listening_socket, SOMAXCONN);
  std::cout << "listening on http://" << url_host(flags.host) << ":" << port << std::endl;

  std::atomic<bool> finished{false};
  std::atomic<bool> served{true};
  std::thread serving([&] {
    served = server.listen_after_bind();
    finished = true;
  });
  const timespec poll_interval{0, 100 * 1000 * 1000};
  bool signalled = false;
  while (!finished && !signalled) {
    signalled = sigtimedwait(&stop_signals, nullptr, &poll_interval) > 0;
  }
  stopper.stop();
  while (signalled && !finished && !server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!finished) {
    server.stop();
  }
  serving.join();
  if (!signalled && !served) {
    std::cerr << "hydrate-mock-llm: error: the server stopped unexpectedly\n";
    return 1;
  }
  return 0;
}
