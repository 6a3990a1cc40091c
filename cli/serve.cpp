// hydrate serve: the original admin HTTP API (core/admin_api.hpp) over cpp-httplib, stateless
// over the configured store, so several serve processes on one PostgreSQL database answer as
// one. Also the admin page (web/, embedded), GET /metrics, /healthz (alive) and /readyz (the
// database answers). Every request is bounded: 64 KiB of body, 10 s to send it, 8 KiB of
// headers (httplib's own limit).
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/common.hpp"
#include "cli/metrics_output.hpp"
#include "core/admin_api.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/resources.hpp"

namespace hydrate::cli {

namespace {

constexpr std::size_t kMaxBody = 64 * 1024;
constexpr int kThreads = 16;

struct ServeFlags {
  std::string listen = "127.0.0.1:8080";
  bool insecure_no_auth = false;
};

struct Address {
  std::string host;
  int port = 0;
};

Address parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long port = colon == std::string::npos ? -1 : std::strtol(text.c_str() + colon + 1, &end, 10);
  if (host.empty() || port < 0 || port > 65535 || end == nullptr || *end != '\0') {
    throw Failure(kUsage,
                  "--listen must be ADDR:PORT, such as 127.0.0.1:8080 or 0.0.0.0:80 (got '" +
                      text.substr(0, 64) + "')");
  }
  return {host, static_cast<int>(port)};
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The admin tokens: HYDRATE_ADMIN_TOKEN, or one a line in the file HYDRATE_ADMIN_TOKEN_FILE names
// (several lines let a new token in before the old one goes).
std::vector<std::string> admin_tokens() {
  std::vector<std::string> tokens;
  if (const char* env = std::getenv("HYDRATE_ADMIN_TOKEN"); env && *env) tokens.push_back(env);
  if (const char* path = std::getenv("HYDRATE_ADMIN_TOKEN_FILE"); path && *path) {
    std::string text = read_file(path, "admin token file");
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) tokens.push_back(line);
      start = end + 1;
    }
    if (tokens.empty())
      throw Failure(kUsage, std::string("the admin token file holds no token: ") + path);
  }
  return tokens;
}

// Stores for the server's threads: a store is used by one request at a time.
class StorePool {
 public:
  explicit StorePool(const Config& config) : config_(config) {}
  std::unique_ptr<store::Store> take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!idle_.empty()) {
        auto store = std::move(idle_.back());
        idle_.pop_back();
        return store;
      }
    }
    store::OpenOptions options;
    options.migrate = false;  // serve migrated once at start
    auto opened = store::open_store(config_.get("db"), options);
    if (!opened) return nullptr;
    return std::move(*opened);
  }
  void give_back(std::unique_ptr<store::Store> store) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(store));
  }

 private:
  const Config& config_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<store::Store>> idle_;
};

void send(httplib::Response& res, const api::Response& out) {
  res.status = out.status;
  for (const auto& [name, value] : out.headers) res.set_header(name, value);
  res.set_content(out.body, out.content_type);
}

void send_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message) {
  send(res, api::error_response(status, code, message));
}

class Server {
 public:
  Server(const Config& config, api::Context context, std::vector<std::string> tokens)
      : config_(config), context_(context), tokens_(std::move(tokens)), pool_(config) {}

  void install(httplib::Server& http) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      dispatch(req, res);
    };
    http.Get(".*", handler);
    http.Post(".*", handler);
    http.Delete(".*", handler);
    http.Put(".*", handler);
    http.Patch(".*", handler);
    http.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          send_error(res, 500, "internal", "the request failed inside the server");
        });
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      // Never the headers: they carry the token.
      log::debug("{} {} {}", req.method, req.path, res.status);
    });
  }

 private:
  void dispatch(const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/healthz") {
      if (req.method != "GET") return send(res, allow_get());
      return res.set_content("{\"status\":\"ok\"}", "application/json");
    }
    if (req.path == "/readyz" || req.path == "/metrics") {
      if (req.method != "GET") return send(res, allow_get());
      return with_store(res, [&](store::Store& store) {
        if (req.path == "/metrics") {
          auto text = metrics_exposition(store, config_);
          if (!text) return send_error(res, 503, "unavailable", text.error().message);
          return res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
        }
        auto outlook = store.queue_outlook(wall_clock_ms());
        if (!outlook) return send_error(res, 503, "unavailable", outlook.error().message);
        res.set_content("{\"status\":\"ready\"}", "application/json");
      });
    }
    if (serve_page(req, res)) return;
    if (!api::is_api_path(req.path)) return send_error(res, 404, "not_found", "no such path");
    if (!tokens_.empty() && !api::token_matches(req.get_header_value("Authorization"), tokens_)) {
      send_error(res, 401, "unauthorized", "a valid 'Authorization: Bearer TOKEN' is required");
      res.set_header("WWW-Authenticate", "Bearer realm=\"hydrate\"");
      return;
    }
    api::Request request{req.method, req.path, {}, req.body};
    for (const auto& [key, value] : req.params) request.query.emplace(key, value);
    with_store(res, [&](store::Store& store) {
      send(res, api::handle(store, context_, request, wall_clock_ms()));
    });
  }

  // The admin page and its two assets, embedded (web/), by exact name: no file system, so no
  // path reaches anything else. No token: the page asks for it and sends it with its calls.
  static bool serve_page(const httplib::Request& req, httplib::Response& res) {
    static const std::string kPage = "/admin/content-engine/hydrateAll";
    struct Asset {
      std::string path;
      const char* resource;
      const char* type;
    };
    static const Asset kAssets[] = {
        {kPage, "web/hydrate-admin.html", "text/html; charset=utf-8"},
        {kPage + "/", "web/hydrate-admin.html", "text/html; charset=utf-8"},
        {kPage + "/hydrate-admin.js", "web/hydrate-admin.js", "text/javascript; charset=utf-8"},
        {kPage + "/hydrate-admin.css", "web/hydrate-admin.css", "text/css; charset=utf-8"},
    };
    for (const auto& asset : kAssets) {
      if (req.path != asset.path) continue;
      if (req.method != "GET") {
        send(res, allow_get());
        return true;
      }
      auto text = resources::find(asset.resource);
      if (!text) return false;
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; connect-src 'self'; frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string(*text), asset.type);
      return true;
    }
    return false;
  }

  static api::Response allow_get() {
    api::Response r = api::error_response(405, "method_not_allowed", "use GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }

  template <class F>
  void with_store(httplib::Response& res, F&& body) {
    auto store = pool_.take();
    if (!store) return send_error(res, 503, "unavailable", "the database cannot be opened");
    body(*store);
    pool_.give_back(std::move(store));
  }

  const Config& config_;
  api::Context context_;
  std::vector<std::string> tokens_;
  StorePool pool_;
};

void run_serve(const Globals& globals, const ServeFlags& flags) {
  Address address = parse_listen(flags.listen);
  std::vector<std::string> tokens = admin_tokens();
  if (tokens.empty() && !flags.insecure_no_auth) {
    throw Failure(kUsage,
                  "serve needs an admin token: set HYDRATE_ADMIN_TOKEN or HYDRATE_ADMIN_TOKEN_FILE "
                  "(or, on a loopback address only, --insecure-no-auth)");
  }
  if (tokens.empty() && !is_loopback(address.host)) {
    throw Failure(kUsage, "--insecure-no-auth is refused on " + address.host +
                              ": without a token serve listens on loopback only");
  }
  Config config = load_config(globals);
  Catalog catalog = load_catalog(config);
  auto prompts = unwrap(PromptSet::load(config.get("prompts.dir")));
  SubmitRequest defaults;  // a bad submit.mode stops serve here, not every submit without "mode"
  unwrap(complete_request(defaults, config, ""));
  open_database(config);  // created and migrated once, before the first request

  // SIGINT and SIGTERM are waited for here; the server's threads never see them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  Server server(config, api::Context{config, catalog, prompts}, tokens);
  httplib::Server http;
  http.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  http.set_payload_max_length(kMaxBody);
  http.set_read_timeout(10, 0);
  http.set_write_timeout(10, 0);
  http.set_keep_alive_timeout(5);
  http.set_tcp_nodelay(true);
  int listening_socket = -1;
  http.set_socket_options([&listening_socket](int socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listening_socket = socket;
  });
  server.install(http);
  int port = address.port == 0
                 ? http.bind_to_any_port(address.host)
                 : (http.bind_to_port(address.host, address.port) ? address.port : -1);
  if (port <= 0) {
    throw Failure(kFailure, "cannot listen on " + flags.listen + " (in use or not available)");
  }
  ::listen(listening_socket, SOMAXCONN);
  std::string host =
      address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
  std::cout << "listening on http://" << host << ":" << port << std::endl;
  if (tokens.empty()) log::warn("serving without authentication (--insecure-no-auth)");

  std::atomic<bool> finished{false};
  std::atomic<bool> served{true};
  std::thread serving([&] {
    served = http.listen_after_bind();
    finished = true;
  });
  const timespec poll{0, 100 * 1000 * 1000};
  bool signalled = false;
  while (!finished && !signalled) signalled = sigtimedwait(&stop_signals, nullptr, &poll) > 0;
  while (signalled && !finished && !http.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!finished) http.stop();
  serving.join();
  if (!signalled && !served) throw Failure(kFailure, "the server stopped unexpectedly");
}

}  // namespace

void add_serve(CLI::App& app, Globals& globals) {
  auto* command = app.add_subcommand("serve", "the admin HTTP API of the original system");
  auto flags = std::make_shared<ServeFlags>();
  command
      ->add_option("--listen", flags->listen,
                   "address and port to listen on (default 127.0.0.1:8080; port 0 picks one)")
      ->type_name("ADDR:PORT");
  command->add_flag("--insecure-no-auth", flags->insecure_no_auth,
                    "serve without a token (loopback addresses only)");
  command->callback([&globals, flags] { run_serve(globals, *flags); });
}

}  // namespace hydrate::cli
