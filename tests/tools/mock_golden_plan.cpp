#include "tests/tools/mock_golden_plan.hpp"

#include <functional>
#include <set>

namespace hydrate::testing {
namespace {

using Predicate = std::function<bool(const std::vector<std::string>&)>;

const std::string kHindi = R"(in the language with code \"hi\")";

std::string model_of(const std::vector<std::string>& parts) {
  std::string model;
  for (std::size_t i = 2; i + 3 < parts.size(); ++i) model += (model.empty() ? "" : "/") + parts[i];
  return model;
}

std::string usual_model(const std::string& flavor) {
  if (flavor == "llamacpp" || flavor == "vllm") return "meta-llama/Llama-3.1-8B-Instruct";
  if (flavor == "ollama") return "qwen2.5:7b-instruct";
  return "gpt-4o-mini";
}

bool first_call(const std::vector<std::string>& parts) {
  return parts.back().rfind("first", 0) == 0;
}

// The corpus requests of one flavor (and a predicate), as steps to the flavor's route.
std::vector<GoldenStep> steps_of(const std::vector<CorpusRequest>& corpus,
                                 const std::string& flavor, const Predicate& keep = {}) {
  std::vector<GoldenStep> steps;
  for (const auto& request : corpus) {
    const auto parts = label_parts(request.label);
    if (parts.size() < 6 || parts[1] != flavor || (keep && !keep(parts))) continue;
    GoldenStep step{request.label, "POST", "/v1/chat/completions", request.body, {}};
    if (flavor == "azure") {
      step.path = "/openai/deployments/" + model_of(parts) +
                  "/chat/completions?api-version=" + "2024-10-21";
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

GoldenStep get(const std::string& path) {
  return {"GET " + path, "GET", path, "", {}};
}

void append(std::vector<GoldenStep>& to, std::vector<GoldenStep> steps) {
  to.insert(to.end(), std::make_move_iterator(steps.begin()), std::make_move_iterator(steps.end()));
}

// Bodies OpenAI refuses, each for its own reason, and one answered in prose.
std::vector<GoldenStep> refused_bodies() {
  const std::string messages = R"("messages":[{"role":"user","content":"Name three rivers."}])";
  const std::string strict_schema =
      R"({"type":"object","properties":{"rivers":{"type":"array","items":{"type":"string"}}}})";
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"not-json", "{\"model\": \"gpt-4o-mini\", "},
      {"array-body", "[1, 2, 3]"},
      {"no-model", "{" + messages + "}"},
      {"empty-model", R"({"model":"",)" + messages + "}"},
      {"no-messages", R"({"model":"gpt-4o-mini"})"},
      {"empty-messages", R"({"model":"gpt-4o-mini","messages":[]})"},
      {"message-without-role", R"({"model":"gpt-4o-mini","messages":[{"content":"hi"}]})"},
      {"content-number", R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":5}]})"},
      {"content-parts",
       R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"Rivers of India and their basins"},{"type":"text","text":"in JSON please"}]}],"response_format":{"type":"json_object"}})"},
      {"stream", R"({"model":"gpt-4o-mini","stream":true,)" + messages + "}"},
      {"max-tokens-zero", R"({"model":"gpt-4o-mini","max_tokens":0,)" + messages + "}"},
      {"max-tokens-text", R"({"model":"gpt-4o-mini","max_tokens":"9",)" + messages + "}"},
      {"max-tokens-tiny", R"({"model":"gpt-4o-mini","max_tokens":3,)" + messages + "}"},
      {"temperature-text", R"({"model":"gpt-4o-mini","temperature":"hot",)" + messages + "}"},
      {"format-unknown",
       R"({"model":"gpt-4o-mini","response_format":{"type":"yaml"},)" + messages + "}"},
      {"format-not-object", R"({"model":"gpt-4o-mini","response_format":"json",)" + messages + "}"},
      {"json-object-without-json",
       R"({"model":"gpt-4o-mini","response_format":{"type":"json_object"},)" + messages + "}"},
      {"json-schema-missing",
       R"({"model":"gpt-4o-mini","response_format":{"type":"json_schema"},)" + messages + "}"},
      {"json-schema-bad-name",
       R"({"model":"gpt-4o-mini","response_format":{"type":"json_schema","json_schema":{"name":"a b","schema":{}}},)" +
           messages + "}"},
      {"json-schema-strict-open",
       R"({"model":"gpt-4o-mini","response_format":{"type":"json_schema","json_schema":{"name":"rivers","strict":true,"schema":)" +
           strict_schema + "}}," + messages + "}"},
      {"json-schema-loose",
       R"({"model":"gpt-4o-mini","response_format":{"type":"json_schema","json_schema":{"name":"rivers","schema":)" +
           strict_schema + "}}," + messages + "}"},
      {"json-schema-loose-capped",
       R"({"model":"gpt-4o-mini","max_tokens":60,"response_format":{"type":"json_schema","json_schema":{"name":"rivers","schema":)" +
           strict_schema + "}}," + messages + "}"},
      {"reasoning-max-tokens", R"({"model":"o3","max_tokens":500,)" + messages + "}"},
      {"reasoning-temperature", R"({"model":"o4-mini","temperature":0.2,)" + messages + "}"},
      {"reasoning-prose", R"({"model":"o1","max_completion_tokens":300,)" + messages + "}"},
      {"prose", R"({"model":"gpt-4o-mini",)" + messages + "}"},
  };
  std::vector<GoldenStep> steps;
  for (const auto& [label, body] : bodies)
    steps.push_back({"refused/" + label, "POST", "", body, {}});
  for (auto& step : steps) step.path = "/v1/chat/completions";
  steps.push_back({"refused/get-chat", "GET", "/v1/chat/completions", "", {}});
  steps.push_back(get("/v1/no-such-route"));
  steps.push_back(get("/health"));
  return steps;
}

}  // namespace

std::vector<CorpusRequest> select_corpus(const std::vector<CorpusRequest>& requests) {
  std::vector<CorpusRequest> selected;
  std::set<std::string> seen;
  for (const auto& request : requests) {
    const auto parts = label_parts(request.label);
    if (parts.size() < 6) continue;
    const std::string& flavor = parts[1];
    const std::string model = model_of(parts);
    const std::string& mode = parts[parts.size() - 3];
    const std::string& variant = parts.back();
    const bool usual = model == usual_model(flavor);
    const bool reasoning = flavor == "openai" && (model == "o1" || model == "gpt-5-mini") &&
                           mode == "json_schema" && variant == "first";
    const bool keep =
        reasoning || (usual && (variant == "first" || variant == "reask")) ||
        (usual && variant == "hostile" && mode == "json_schema" &&
         (flavor == "openai" || flavor == "llamacpp")) ||
        (variant == "no-schema" || (variant == "schema-name-100" && mode == "json_schema"));
    // One token field per combination (the profile's, printed first), both for reasoning models.
    const std::string key = parts[0] + "/" + flavor + "/" + model + "/" + mode + "/" + variant +
                            (reasoning ? "/" + parts[parts.size() - 2] : "");
    if (!keep || !seen.insert(key).second) continue;
    selected.push_back(request);
    const auto at = request.body.find(kHindi);
    if (variant != "first" || at == std::string::npos) continue;
    std::vector<std::string> languages = {"en"};
    if (flavor == "openai" && mode == "json_schema" && usual) languages = {"en", "fr", "es"};
    for (const std::string& language : languages) {
      CorpusRequest copy = request;
      copy.label += "+" + language;
      copy.body.replace(at, kHindi.size(), R"(in the language with code \")" + language + R"(\")");
      selected.push_back(std::move(copy));
    }
  }
  return selected;
}

std::vector<GoldenConfig> golden_plan(const std::vector<CorpusRequest>& corpus) {
  std::vector<GoldenConfig> plan;
  {
    GoldenConfig config{"openai", {}, steps_of(corpus, "openai")};
    append(config.steps, {get("/v1/models"), get("/stats")});
    plan.push_back(std::move(config));
  }
  plan.push_back({"openai-seed-7", {"--seed", "7"}, steps_of(corpus, "openai", first_call)});
  {
    // Each body twice: a repeat draws its faults anew.
    GoldenConfig config{"openai-content-faults",
                        {"--seed", "3", "--rate-malformed", "0.15", "--rate-truncated", "0.25",
                         "--rate-invalid", "0.35"},
                        steps_of(corpus, "openai")};
    append(config.steps, steps_of(corpus, "openai"));
    config.steps.push_back(get("/stats"));
    plan.push_back(std::move(config));
  }
  plan.push_back({"openai-http-faults",
                  {"--seed", "5", "--rate-429", "0.15", "--rate-500", "0.15", "--rate-503", "0.15",
                   "--rate-timeout", "0.15", "--timeout-hold-ms", "0"},
                  steps_of(corpus, "openai", first_call)});
  plan.back().steps.push_back(get("/stats"));
  plan.push_back(
      {"openai-hostile", {"--seed", "11", "--rate-hostile", "0.7"}, steps_of(corpus, "openai")});
  plan.back().steps.push_back(get("/stats"));
  plan.push_back({"openai-wrong-language",
                  {"--seed", "13", "--rate-wrong-language", "0.5"},
                  steps_of(corpus, "openai", first_call)});
  plan.back().steps.push_back(get("/stats"));
  plan.push_back({"openai-formats-usage",
                  {"--response-formats", "json_object,text", "--usage", "omit"},
                  steps_of(corpus, "openai", first_call)});
  {
    GoldenConfig config{"openai-key-quota",
                        {"--api-key", "sk-golden-0123456789", "--quota-after", "6"},
                        steps_of(corpus, "openai", first_call)};
    for (std::size_t i = 0; i < config.steps.size(); ++i) {
      const char* key = i % 5 == 3 ? "Bearer sk-wrong-0123456789" : "Bearer sk-golden-0123456789";
      if (i % 7 != 5) config.steps[i].headers.emplace("Authorization", key);
    }
    plan.push_back(std::move(config));
  }
  plan.push_back({"refused", {}, refused_bodies()});
  {
    // Each flavor writes its errors in its own shape; loose schemas run away under a grammar.
    GoldenConfig config{"azure", {"--flavor", "azure"}, steps_of(corpus, "azure")};
    for (GoldenStep step : refused_bodies()) {
      if (step.path == "/v1/chat/completions") {
        step.path = "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21";
      }
      config.steps.push_back(std::move(step));
    }
    plan.push_back(std::move(config));
  }
  {
    // Azure's own gate: the api-version, the api-key header, the deployments that exist.
    GoldenConfig config{"azure-gate",
                        {"--flavor", "azure", "--deployments", "gpt-4o-mini", "--api-key",
                         "az-golden-0123456789", "--seed", "19", "--rate-invalid", "0.3"},
                        steps_of(corpus, "azure", first_call)};
    const std::vector<std::string> versions = {"2024-10-21", "2024-02-01", "", "1999-01-01",
                                               "2024-12-01-preview"};
    for (std::size_t i = 0; i < config.steps.size(); ++i) {
      GoldenStep& step = config.steps[i];
      const std::string& version = versions[i % versions.size()];
      const std::string deployment = i % 6 == 4 ? "gpt-missing" : "gpt-4o-mini";
      step.path = "/openai/deployments/" + deployment + "/chat/completions" +
                  (version.empty() ? "" : "?api-version=" + version);
      if (i % 4 != 2)
        step.headers.emplace("api-key", i % 9 == 7 ? "az-wrong" : "az-golden-0123456789");
    }
    append(config.steps, {get("/v1/chat/completions"), get("/stats")});
    plan.push_back(std::move(config));
  }
  plan.push_back({"llamacpp", {"--flavor", "llamacpp"}, steps_of(corpus, "llamacpp")});
  append(plan.back().steps, refused_bodies());
  plan.push_back({"llamacpp-faults",
                  {"--flavor", "llamacpp", "--seed", "17", "--rate-runaway", "0.5",
                   "--rate-truncated", "0.2", "--rate-invalid", "0.2"},
                  steps_of(corpus, "llamacpp", first_call)});
  append(plan.back().steps, refused_bodies());
  plan.back().steps.push_back(get("/stats"));
  plan.push_back({"vllm",
                  {"--flavor", "vllm", "--seed", "23", "--rate-invalid", "0.2"},
                  steps_of(corpus, "vllm")});
  append(plan.back().steps, refused_bodies());
  plan.push_back({"ollama", {"--flavor", "ollama"}, steps_of(corpus, "ollama")});
  append(plan.back().steps, refused_bodies());
  plan.back().steps.push_back(get("/stats"));
  return plan;
}

}  // namespace hydrate::testing
