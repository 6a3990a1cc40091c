#pragma once
// Estimating and submitting a subject: the operations behind `estimate` and `submit`.
#include <string>

#include "core/cascade.hpp"
#include "core/catalog.hpp"
#include "core/config.hpp"
#include "core/estimate.hpp"
#include "core/pricing.hpp"
#include "core/prompts.hpp"
#include "core/store/store.hpp"

namespace hydrate {

struct SubmitRequest {
  Slot slot;
  RootOptions options;  // counts 0 = catalog; model empty = the configured default
  int priority = 0;
  double max_cost_usd = 0;  // 0 = no budget
  bool force = false;       // submit even when the estimate exceeds max_cost_usd
  int max_attempts = 5;
  int concurrency = 8;  // for the duration estimate
};

// Fills what the caller left open from the configuration, as `submit`, `estimate` and the admin
// API's submit do alike: the model (llm.model), the mode (mode when not empty, else submit.mode,
// whose HYDRATE_MODE and config file the Config resolved), the concurrency of the duration
// estimate (work.concurrency) and the attempt limit (work.max_attempts). invalid_input when the
// mode is neither online nor batch, naming where it came from; or a setting out of range.
Status complete_request(SubmitRequest& request, const Config& config, std::string_view mode);

// Whether the configured endpoint has a Batch API (an OpenAI endpoint, by llm.flavor or the URL):
// invalid_input naming what asked for it (e.g. "--mode batch") and the endpoint's flavor when
// not, since a batch-mode root there would never run.
Status check_batch_api(const Config& config, std::string_view what);

// invalid_input naming the flag --name when value is blank, longer than max bytes or holds a
// control character.
Status check_text(const char* name, const std::string& value, std::size_t max);

// invalid_input naming the field when the slot or options are out of range (empty, too long,
// control characters, counts outside 1..1000).
Status validate_request(const SubmitRequest& request);

// How many of the newest finished trees of the model an estimate calibrates on.
inline constexpr int kHistoryRoots = 20;

// The estimate of a request, with its worst case: calibrated on history when given and it holds
// finished trees of the model (see calibrated_token_profile, calibrated_counts), otherwise on
// the built-in defaults (no database needed). invalid_input for an unpriced model.
Result<Estimate> estimate_request(const SubmitRequest& request, const Catalog& catalog,
                                  const PriceTable& prices, const PromptSet& prompts,
                                  const History* history = nullptr);

// The most a tree can cost, whatever the model answers: the largest counts the schemas allow,
// every step at its attempt limit, each call with the largest prompt the validated inputs and a
// re-ask allow (one token per byte bounds any byte-level tokenizer) and a full completion cap.
double worst_case_cost_usd(const StepInput& root, const Price& price, const PromptSet& prompts,
                           int max_attempts);

struct SubmitResult {
  store::SubmitOutcome outcome;
  Estimate estimate;
};

// Creates the root (or returns the live duplicate), estimated on the store's history.
// over_budget when the estimate exceeds max_cost_usd and force is not set; nothing is written
// then.
Result<SubmitResult> submit_subject(store::Store& store, const SubmitRequest& request,
                                    const Catalog& catalog, const PriceTable& prices,
                                    const PromptSet& prompts, Millis now);

}  // namespace hydrate
