#include "core/cascade.hpp"

#include <nlohmann/json.hpp>

#include "core/ids.hpp"

namespace hydrate {

using nlohmann::json;

namespace {

// An online root's options leave the mode out, as they did before batch mode existed: the
// dedupe keys of live roots stay what they were.
json options_json(const RootOptions& o) {
  json j = {{"notes", o.notes},
            {"questions", o.questions},
            {"chapters", o.chapters},
            {"topicsPerChapter", o.topics_per_chapter},
            {"questionsPerTopic", o.questions_per_topic},
            {"model", o.model}};
  if (o.mode != CallMode::online) j["mode"] = to_string(o.mode);
  return j;
}

RootOptions options_from(const json& j) {
  RootOptions o;
  o.notes = j.value("notes", o.notes);
  o.questions = j.value("questions", o.questions);
  o.chapters = j.value("chapters", o.chapters);
  o.topics_per_chapter = j.value("topicsPerChapter", o.topics_per_chapter);
  o.questions_per_topic = j.value("questionsPerTopic", o.questions_per_topic);
  o.model = j.value("model", o.model);
  o.mode = parse_call_mode(j.value("mode", "online")).value_or(CallMode::online);
  return o;
}

}  // namespace

std::string encode_root_options(const RootOptions& options) {
  return options_json(options).dump();
}

RootOptions decode_root_options(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? options_from(j) : RootOptions{};
}

std::string encode_step_input(const StepInput& in) {
  json j = {
      {"slot",
       {{"language", in.slot.language},
        {"board", in.slot.board},
        {"grade", in.slot.grade},
        {"subject", in.slot.subject}}},
      {"options", options_json(in.options)},
  };
  if (in.chapter_position > 0) {
    j["chapter"] = {{"position", in.chapter_position},
                    {"title", in.chapter.title},
                    {"summary", in.chapter.summary}};
  }
  if (in.topic_position > 0) {
    j["topic"] = {{"position", in.topic_position},
                  {"title", in.topic.title},
                  {"objectives", in.topic.objectives}};
  }
  return j.dump();
}

Result<StepInput> decode_step_input(std::string_view text) {
  try {
    json j = json::parse(text);
    StepInput in;
    const json& slot = j.at("slot");
    in.slot = Slot{slot.at("language"), slot.at("board"), slot.at("grade"), slot.at("subject")};
    in.options = options_from(j.at("options"));
    if (j.contains("chapter")) {
      in.chapter_position = j["chapter"].at("position");
      in.chapter.title = j["chapter"].at("title");
      in.chapter.summary = j["chapter"].at("summary");
    }
    if (j.contains("topic")) {
      in.topic_position = j["topic"].at("position");
      in.topic.title = j["topic"].at("title");
      in.topic.objectives = j["topic"].at("objectives").get<std::vector<std::string>>();
    }
    return in;
  } catch (const json::exception& e) {
    return make_error(ErrorKind::invalid_input,
                      std::string("step input is not valid: ") + e.what());
  }
}

RootOptions resolve_counts(RootOptions options, const CatalogEntry& entry) {
  if (options.chapters <= 0) options.chapters = entry.chapters;
  if (options.topics_per_chapter <= 0) options.topics_per_chapter = entry.topics_per_chapter;
  return options;
}

NewJob make_root_job(const StepInput& input, int priority, int max_attempts, Millis now) {
  NewJob job;
  job.id = new_job_id(now);
  job.kind = JobKind::subject;
  job.root_id = job.id;
  job.priority = priority;
  job.input = encode_step_input(input);
  job.max_attempts = max_attempts;
  job.mode = input.options.mode;
  return job;
}

namespace {

NewJob child_of(const Job& parent, JobKind kind, int position, const StepInput& input, Millis now) {
  NewJob child;
  child.id = new_job_id(now);
  child.kind = kind;
  child.parent_id = parent.id;
  child.root_id = parent.root_id;
  child.position = position;
  child.priority = parent.priority;
  child.input = encode_step_input(input);
  child.max_attempts = parent.max_attempts;
  child.mode = input.options.mode;
  return child;
}

void add_chapter_child(std::vector<NewJob>& out, const Job& parent, const StepInput& base,
                       int position, const ChapterPlan& chapter, Millis now) {
  StepInput input = base;
  input.chapter_position = position;
  input.chapter = chapter;
  out.push_back(child_of(parent, JobKind::chapter, position, input, now));
}

void add_topic_children(std::vector<NewJob>& out, const Job& parent, const StepInput& base,
                        int position, const TopicPlan& topic, Millis now) {
  StepInput input = base;
  input.topic_position = position;
  input.topic = topic;
  if (base.options.notes) out.push_back(child_of(parent, JobKind::note, position, input, now));
  if (base.options.questions) {
    out.push_back(child_of(parent, JobKind::questions, position, input, now));
  }
}

}  // namespace

std::vector<NewJob> children_for(const Job& parent, const StepInput& parent_input,
                                 const store::StepOutput& output, Millis now) {
  std::vector<NewJob> children;
  if (parent.kind == JobKind::subject) {
    for (std::size_t i = 0; i < output.chapters.size(); ++i) {
      add_chapter_child(children, parent, parent_input, static_cast<int>(i + 1), output.chapters[i],
                        now);
    }
  } else if (parent.kind == JobKind::chapter) {
    for (std::size_t i = 0; i < output.topics.size(); ++i) {
      add_topic_children(children, parent, parent_input, static_cast<int>(i + 1), output.topics[i],
                         now);
    }
  }
  return children;
}

std::vector<NewJob> children_for_orphan(const store::OrphanedContent& orphan, Millis now) {
  std::vector<NewJob> children;
  auto input = decode_step_input(orphan.parent.input);
  if (!input) return children;
  if (orphan.chapter) {
    add_chapter_child(children, orphan.parent, *input, orphan.position, *orphan.chapter, now);
  } else if (orphan.topic) {
    add_topic_children(children, orphan.parent, *input, orphan.position, *orphan.topic, now);
  }
  return children;
}

}  // namespace hydrate
