#pragma once
// The JSON shapes operators and the original system's consumers read (status, submit, export)
// and the markdown export. Pure: built from records the store returned.
#include <string>
#include <vector>

#include "core/batch/accounting.hpp"
#include "core/estimate.hpp"
#include "core/store/store.hpp"

namespace hydrate::report {

// status of a root: jobId, status, progress {overall, levels}, costs, tokens, times, reason,
// errors, slot, traceId, estimates.
// mode (online or batch); a batch-mode root also lists its open batches, and with savings
// (batch::savings_of its calls) what its calls cost at the batch price and would have online:
// savings {calls, batchCostUsd, onlineCostUsd, savingUsd, unpricedModels}.
std::string root_status_json(const store::RootRecord& root, const store::TreeCounts& counts,
                             const std::vector<Job>& errors,
                             const std::vector<store::BatchRecord>& batches = {},
                             const batch::Savings* savings = nullptr);
// The savings object of root_status_json and the report: calls, batchCostUsd, onlineCostUsd,
// savingUsd (to the micro-dollar), unpricedModels.
std::string savings_json(const batch::Savings& savings);
// status of a step that is not a root.
std::string job_status_json(const Job& job);
// submit (and dry run when root is null): rootJobId, status, estimates, traceId, createdAt,
// deduplicated.
std::string submit_json(const store::SubmitOutcome* outcome, const Estimate& estimate,
                        const std::string& model);
std::string export_json(const store::RootRecord& root,
                        const std::vector<store::ChapterContent>& chapters);
std::string export_markdown(const store::RootRecord& root,
                            const std::vector<store::ChapterContent>& chapters);

}  // namespace hydrate::report
