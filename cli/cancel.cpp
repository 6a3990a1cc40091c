// hydrate cancel: cancel a root (or a subtree) and every unfinished step under it.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/clock.hpp"
#include "core/llm/batch_client.hpp"
#include "core/log.hpp"

namespace hydrate::cli {

namespace {

// A cancelled batch-mode root's batches that the provider has: cancelled there at once, so that
// it stops answering (and billing) lines nobody will use. One that cannot be reached now is
// cancelled by the next worker's batch cycle, which the cancel flagged. Returns how many.
int cancel_open_batches(const Config& config, store::Store& store, const std::string& root_id) {
  auto batches = store.root_batches(root_id, 100);
  if (!batches) return 0;  // not a root, or an older schema: nothing to do
  std::unique_ptr<llm::BatchClient> client;
  int cancelled = 0;
  for (const auto& batch : *batches) {
    if (batch.state != store::BatchState::created || batch.provider_batch_id.empty()) continue;
    if (!client) client = llm::make_batch_client(batch_endpoint(config));
    auto done = client->cancel(batch.provider_batch_id);
    if (done) {
      ++cancelled;
    } else {
      log::warn("batch {} ({}): {}; the next worker cancels it", batch.id, batch.provider_batch_id,
                done.failure->error.message);
    }
  }
  return cancelled;
}

}  // namespace

void add_cancel(CLI::App& app, Globals& globals) {
  auto* command =
      app.add_subcommand("cancel", "cancel a root (or subtree) and its unfinished steps");
  auto job_id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>("cancelled by operator");
  command->add_option("job", *job_id, "job id")->required();
  command->add_option("--reason", *reason, "recorded on the root and its steps");
  command->callback([&globals, job_id, reason] {
    check_job_id(*job_id);
    unwrap(check_text("reason", *reason, 500));
    Config config = load_config(globals);
    auto store = open_database(config, false);
    int changed = unwrap(store->cancel(*job_id, *reason, wall_clock_ms()));
    int batches = cancel_open_batches(config, *store, *job_id);
    if (globals.json) {
      print_line(fmt::format(R"({{"jobId":"{}","cancelled":{},"batchesCancelled":{}}})", *job_id,
                             changed, batches));
    } else {
      print_line(fmt::format("cancelled {} step(s) of {}", changed, *job_id));
      if (batches > 0) print_line(fmt::format("cancelled {} batch(es) at the provider", batches));
    }
  });
}

}  // namespace hydrate::cli
