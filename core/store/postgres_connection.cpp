// The PostgreSQL driver of the SQL store (libpqxx 6.4): one connection per process, every
// statement prepared once per connection, ?N placeholders rewritten to $N.
#include <pqxx/pqxx>

#include <functional>
#include <map>
#include <optional>
#include <random>

#include "core/store/sql_connection.hpp"

namespace hydrate::store::sql {
namespace {

std::string to_dollar_placeholders(std::string_view sql) {
  std::string out(sql);
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '?' && std::isdigit(static_cast<unsigned char>(out[i + 1]))) out[i] = '$';
  }
  return out;
}

// The URL without its password, for messages.
std::string redact(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + ":***" + url.substr(at);
}

// libpq's words for a refusal that no wait can change (it reports no SQLSTATE before a session).
constexpr std::string_view kRefusedForGood[] = {
    "password authentication failed",
    "authentication failed for user",
    "no password supplied",
    "does not exist",  // database, role
    "no pg_hba.conf entry",
    "invalid connection option",
    "invalid URI",
    "invalid integer value",
    "invalid port number",
    "invalid sslmode value",
    "missing \"=\" after",
};

class PostgresConnection final : public Connection {
 public:
  explicit PostgresConnection(std::string url) : url_(std::move(url)) {
    connect();
    std::random_device seed;
    metric_shard = std::uniform_int_distribution<int>(0, kMetricShards - 1)(seed);
  }

  Backend backend() const override { return Backend::postgres; }
  void begin_write() override { begin(); }
  void begin_read() override { begin(); }
  void commit() override {
    if (tx_) tx_->commit();
    tx_.reset();
  }
  void rollback() noexcept override {
    try {
      if (tx_) tx_->abort();
    } catch (...) {
    }
    tx_.reset();
  }

  Rows run(std::string_view sql, const std::vector<Value>& params) override {
    const std::string& name = statement_name(sql);
    std::vector<std::optional<std::string>> texts;  // kept alive until the call returns
    texts.reserve(params.size());
    for (const auto& param : params) {
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>)
              texts.emplace_back(std::nullopt);
            else if constexpr (std::is_same_v<T, std::string>)
              texts.emplace_back(v);
            else
              texts.emplace_back(pqxx::to_string(v));
          },
          param);
    }
    bool own = !tx_;
    if (own) begin();
    pqxx::result result;
    try {
      result = exec(name, texts);
      if (own) commit();
    } catch (...) {
      if (own) rollback();
      throw;
    }
    Rows out;
    out.affected = static_cast<std::int64_t>(result.affected_rows());
    for (const auto& row : result) {
      std::vector<Value> cells;
      cells.reserve(row.size());
      for (const auto& field : row) {
        if (field.is_null())
          cells.emplace_back(nullptr);
        else
          cells.emplace_back(std::string(field.c_str(), field.size()));
      }
      out.rows.emplace_back(std::move(cells));
    }
    return out;
  }

  void run_script(std::string_view sql) override {
    bool own = !tx_;
    if (own) begin();
    tx_->exec(std::string(sql));
    if (own) commit();
  }

  Error classify(const std::exception& e, const std::string& what) const override {
    if (const auto* open = dynamic_cast<const OpenFailure*>(&e)) {  // reconnecting failed
      broken_ = true;
      ErrorKind kind = open->kind == ErrorKind::permanent ? open->kind : ErrorKind::transient;
      return make_error(
          kind, what + ": cannot reconnect to PostgreSQL at " + redact(url_) + ": " + open->what());
    }
    // Whatever libpqxx threw, a connection that is no longer open was lost (a peer's reset can
    // surface as a plain error without SQLSTATE).
    if (dynamic_cast<const pqxx::broken_connection*>(&e) || !conn_ || !conn_->is_open() ||
        dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
      broken_ = true;
      return make_error(ErrorKind::transient,
                        what + ": lost the connection to PostgreSQL at " + redact(url_));
    }
    if (dynamic_cast<const pqxx::transaction_rollback*>(&e)) {
      return make_error(ErrorKind::transient, what + ": " + first_line(e.what()));
    }
    if (dynamic_cast<const pqxx::unique_violation*>(&e)) {
      return make_error(ErrorKind::conflict, what + ": " + first_line(e.what()));
    }
    if (const auto* sql_error = dynamic_cast<const pqxx::sql_error*>(&e)) {
      // 57P01 admin shutdown, 57P02/57P03 crash/cannot connect now, 08xxx connection errors.
      const std::string& state = sql_error->sqlstate();
      if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0) {
        broken_ = true;
        return make_error(ErrorKind::transient, what + ": PostgreSQL at " + redact(url_) +
                                                    " went away: " + first_line(e.what()));
      }
      if (state == "25006")
        return make_error(ErrorKind::permanent, what + ": the database is read-only");
    }
    return make_error(ErrorKind::permanent, what + ": " + first_line(e.what()));
  }

  bool should_retry(const std::exception& e) const override {
    return dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr;
  }

  void reconnect_if_broken() override {
    if (!broken_ && conn_ && conn_->is_open()) return;
    tx_.reset();
    receiver_.reset();
    conn_.reset();
    statements_.clear();
    connect();
    broken_ = false;
  }

  static std::string first_line(const char* text) {
    std::string s = text;
    auto newline = s.find('\n');
    return newline == std::string::npos ? s : s.substr(0, newline);
  }

  bool await_notification(const std::string& channel, int timeout_ms) override {
    if (tx_) tx_.reset();  // LISTEN and the wait happen outside any transaction
    if (!receiver_ || receiver_->channel() != channel) {
      receiver_.reset();
      receiver_ = std::make_unique<Receiver>(*conn_, channel);  // issues LISTEN
    }
    receiver_->notified = false;
    if (conn_->get_notifs() == 0) {
      conn_->await_notification(timeout_ms / 1000, (timeout_ms % 1000) * 1000L);
    }
    return receiver_->notified;
  }

 private:
  // Marks that a notification came; the payload is not used.
  struct Receiver final : pqxx::notification_receiver {
    Receiver(pqxx::connection_base& c, const std::string& channel)
        : pqxx::notification_receiver(c, channel) {}
    void operator()(const std::string&, int) override { notified = true; }
    bool notified = false;
  };

  void connect() {
    try {
      conn_ = std::make_unique<pqxx::connection>(url_);
    } catch (const pqxx::broken_connection& e) {
      std::string message = first_line(e.what());
      throw OpenFailure(postgres_open_failure_kind(message), message);
    }
  }

  void begin() {
    tx_.reset();
    tx_ = std::make_unique<pqxx::work>(*conn_);
  }

  pqxx::result exec(const std::string& name, const std::vector<std::optional<std::string>>& texts) {
    std::vector<const char*> pointers;  // nullptr is SQL NULL
    pointers.reserve(texts.size());
    for (const auto& text : texts) pointers.push_back(text ? text->c_str() : nullptr);
    return tx_->exec_prepared(name, pqxx::prepare::make_dynamic_params(pointers));
  }

  const std::string& statement_name(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it != statements_.end()) return it->second;
    std::string name = "s" + std::to_string(statements_.size() + 1);
    conn_->prepare(name, to_dollar_placeholders(sql));
    return statements_.emplace(std::string(sql), name).first->second;
  }

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
  std::unique_ptr<Receiver> receiver_;             // set once the connection listens
  std::map<std::string, std::string> statements_;  // SQL text -> prepared statement name
  mutable bool broken_ = false;
};

}  // namespace

ErrorKind postgres_open_failure_kind(std::string_view message) {
  for (auto words : kRefusedForGood) {
    if (message.find(words) != std::string_view::npos) return ErrorKind::permanent;
  }
  return ErrorKind::unavailable;
}

std::unique_ptr<Connection> connect_postgres(const std::string& url) {
  return std::make_unique<PostgresConnection>(url);
}

}  // namespace hydrate::store::sql
