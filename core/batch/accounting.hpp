#pragma once
// What operators are shown of batch mode: the status a batch record is counted under (the
// hydrate_batches gauge, the report) and what batch-mode calls saved against the online price.
// Pure: records and call sums in, figures out.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/model.hpp"
#include "core/pricing.hpp"
#include "core/store/store.hpp"

namespace hydrate::batch {

// The statuses a batch is counted under, in the order they are shown: hydrate's record states
// before the provider has the batch (claimed: the steps are held; uploaded: the input file is at
// the provider), then the provider's statuses, then abandoned (hydrate gave up a batch the
// provider never had). Every one is shown, 0 when none.
inline constexpr const char* kStatuses[] = {"claimed",    "uploaded",  "validating", "in_progress",
                                            "finalizing", "completed", "failed",     "expired",
                                            "cancelling", "cancelled", "abandoned"};

// The status of a batch record: the provider's status once it said one (whatever hydrate's
// record did with it since: a completed batch stays "completed" when applied), else the
// record's state (claimed, uploaded, created, abandoned).
std::string status_label(std::string_view provider_status, store::BatchState state);

// Batch-mode calls priced both ways. batch_cost_usd is what the calls cost as logged (at the
// batch price); online_cost_usd the same tokens of each model at its online price now; the
// saving their difference. Models without an online price now are left out of all three and
// named in unpriced.
struct Savings {
  std::int64_t calls = 0;
  TokenUsage tokens;
  double batch_cost_usd = 0;
  double online_cost_usd = 0;
  double saving_usd = 0;
  std::vector<std::string> unpriced;
};

// The savings of the batch-mode entries of calls (online ones are skipped).
Savings savings_of(const std::vector<CallTotals>& calls, const PriceTable& prices);

// The report's split of a window's finished roots by mode: per mode the roots, their logged
// calls and what those cost; the batch-mode calls' savings; their batch records by status
// (every one of kStatuses, then any other found).
struct ModeFigures {
  std::int64_t roots = 0, calls = 0;
  double cost_usd = 0;
};
struct ModeSplit {
  ModeFigures online, batch;
  Savings savings;
  std::vector<std::pair<std::string, std::int64_t>> batches;
};
ModeSplit split_by_mode(const store::OpsFacts& facts, const PriceTable& prices);

}  // namespace hydrate::batch
