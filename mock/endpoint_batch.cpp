// Endpoint's Batch API routes: /v1/files and /v1/batches over HTTP, each behind the API key and
// the latency of every /v1 answer, answered by BatchApi; and the answer to one line of a batch.
#include "mock/chat_answer.hpp"
#include "mock/endpoint.hpp"

namespace hydrate::mock {
namespace {

std::optional<std::string> query_value(const httplib::Request& request, const char* name) {
  if (!request.has_param(name)) return std::nullopt;
  return request.get_param_value(name);
}

ListQuery list_query(const httplib::Request& request) {
  return {query_value(request, "limit"), query_value(request, "after"),
          query_value(request, "order"), query_value(request, "purpose")};
}

Upload upload_of(const httplib::Request& request) {
  Upload upload;
  upload.multipart = request.is_multipart_form_data();
  if (request.has_file("purpose")) upload.purpose = request.get_file_value("purpose").content;
  if (request.has_file("file")) {
    const httplib::MultipartFormData part = request.get_file_value("file");
    upload.content = part.content;
    if (!part.filename.empty()) upload.filename = part.filename;
  }
  return upload;
}

}  // namespace

void Endpoint::install_batch_routes(httplib::Server& server) {
  // A handler behind the checks every /v1 route makes.
  const auto route = [this](std::function<Reply(const httplib::Request&)> answer) {
    return [this, answer](const httplib::Request& request, httplib::Response& response) {
      pause_for_latency();
      if (auto refusal = refuse_unauthorized(request)) {
        send_error(response, *refusal);
        return;
      }
      send_reply(response, answer(request));
    };
  };
  const auto id = [](const httplib::Request& request) { return request.matches[1].str(); };
  server.Post("/v1/files", route([this](const httplib::Request& request) {
                return batches_.upload_file(upload_of(request));
              }));
  server.Get("/v1/files", route([this](const httplib::Request& request) {
               return batches_.list_files(list_query(request));
             }));
  server.Get(R"(/v1/files/([^/]+))", route([this, id](const httplib::Request& request) {
               return batches_.retrieve_file(id(request));
             }));
  server.Get(R"(/v1/files/([^/]+)/content)", route([this, id](const httplib::Request& request) {
               return batches_.file_content(id(request));
             }));
  server.Delete(R"(/v1/files/([^/]+))", route([this, id](const httplib::Request& request) {
                  return batches_.delete_file(id(request));
                }));
  server.Post("/v1/batches", route([this](const httplib::Request& request) {
                return batches_.create_batch(request.body);
              }));
  server.Get("/v1/batches", route([this](const httplib::Request& request) {
               return batches_.list_batches(list_query(request));
             }));
  server.Get(R"(/v1/batches/([^/]+))", route([this, id](const httplib::Request& request) {
               return batches_.retrieve_batch(id(request));
             }));
  server.Post(R"(/v1/batches/([^/]+)/cancel)", route([this, id](const httplib::Request& request) {
                return batches_.cancel_batch(id(request));
              }));
}

LineAnswer Endpoint::answer_batch_line(const std::string& body, std::uint64_t hash,
                                       std::int64_t created) {
  const auto parsed = read_chat_body(options_, body);
  if (const auto* error = std::get_if<ApiError>(&parsed)) {
    return {error->status, flavor_error_body(options_.flavor, *error), std::nullopt};
  }
  const ChatRequest& chat = std::get<ChatRequest>(parsed);
  models_.note(chat.model);
  // What the model writes can go wrong in a batch too; how the answer travels cannot.
  FaultRates content_faults;
  content_faults.truncated = options_.rates.truncated;
  content_faults.invalid = options_.rates.invalid;
  const WrittenAnswer written =
      write_answer(options_, chat, decide_fault(content_faults, hash), hash, created);
  return {written.reply.status, written.reply.body, written.billed};
}

}  // namespace hydrate::mock
