// The generation tree's fan-out (core/cascade.hpp): step inputs as stored JSON, root jobs, the
// children a step's output creates, and children for orphaned content.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "core/cascade.hpp"
#include "core/ids.hpp"

namespace {

using namespace hydrate;

constexpr Millis kNow = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

StepInput subject_input(bool notes = true, bool questions = true) {
  StepInput in;
  in.slot = Slot{"en", "CBSE", "1", "MATH"};
  in.options.chapters = 3;
  in.options.topics_per_chapter = 2;
  in.options.questions_per_topic = 5;
  in.options.notes = notes;
  in.options.questions = questions;
  in.options.model = "gpt-4o-mini";
  return in;
}

Job job_from(const NewJob& made, JobKind kind) {
  Job job;
  job.id = made.id;
  job.kind = kind;
  job.parent_id = made.parent_id;
  job.root_id = made.root_id;
  job.position = made.position;
  job.priority = made.priority;
  job.input = made.input;
  job.max_attempts = made.max_attempts;
  return job;
}

StepInput decoded(const NewJob& job) {
  auto input = decode_step_input(job.input);
  REQUIRE(input.ok());
  return *input;
}

}  // namespace

TEST_CASE("cascade: a step input survives encode and decode") {
  StepInput in = subject_input();
  in.chapter_position = 2;
  in.chapter = {"Shapes", "Circles, squares and \"triangles\"."};
  in.topic_position = 4;
  in.topic = {"Corners", {"count corners", "name shapes", "ünïcödé"}};
  auto back = decode_step_input(encode_step_input(in));
  REQUIRE(back.ok());
  CHECK(back->slot == in.slot);
  CHECK(back->options == in.options);
  CHECK(back->chapter_position == 2);
  CHECK(back->chapter.title == "Shapes");
  CHECK(back->chapter.summary == in.chapter.summary);
  CHECK(back->topic_position == 4);
  CHECK(back->topic.title == "Corners");
  CHECK(back->topic.objectives == in.topic.objectives);

  auto root_only = decode_step_input(encode_step_input(subject_input()));
  REQUIRE(root_only.ok());
  CHECK(root_only->chapter_position == 0);
  CHECK(root_only->topic_position == 0);
}

TEST_CASE("cascade: decode_step_input rejects text this version did not write") {
  for (const char* bad : {"", "not json", "[]", "{}", R"({"slot": {"language": "en"}})",
                          R"({"slot": {"language": 1, "board": "b", "grade": "g", "subject": "s"},
                              "options": {}})"}) {
    CAPTURE(bad);
    auto result = decode_step_input(bad);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::invalid_input);
  }
}

TEST_CASE("cascade: root options round-trip, and missing fields take their defaults") {
  RootOptions o = subject_input(false, true).options;
  CHECK(decode_root_options(encode_root_options(o)) == o);
  RootOptions partial = decode_root_options(R"({"chapters": 7})");
  CHECK(partial.chapters == 7);
  CHECK(partial.notes);
  CHECK(partial.questions_per_topic == 10);
  CHECK(decode_root_options("garbage") == RootOptions{});
}

TEST_CASE("cascade: make_root_job creates a pending subject job that is its own root") {
  NewJob root = make_root_job(subject_input(), 7, 3, kNow);
  CHECK(looks_like_job_id(root.id));
  CHECK(root.kind == JobKind::subject);
  CHECK(root.root_id == root.id);
  CHECK(root.parent_id.empty());
  CHECK(root.priority == 7);
  CHECK(root.max_attempts == 3);
  CHECK(decoded(root).slot == subject_input().slot);
}

TEST_CASE("cascade: a subject step creates one chapter job per chapter, positions 1..n") {
  Job root = job_from(make_root_job(subject_input(), 7, 3, kNow), JobKind::subject);
  store::StepOutput output;
  output.chapters = {{"Numbers", "Count."}, {"Shapes", "Draw."}, {"Money", "Pay."}};
  auto children = children_for(root, subject_input(), output, kNow);
  REQUIRE(children.size() == 3);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const NewJob& child = children[i];
    CAPTURE(i);
    CHECK(child.kind == JobKind::chapter);
    CHECK(child.position == static_cast<int>(i + 1));
    CHECK(child.parent_id == root.id);
    CHECK(child.root_id == root.id);
    CHECK(child.priority == 7);
    CHECK(child.max_attempts == 3);
    CHECK(looks_like_job_id(child.id));
    ids.insert(child.id);
    StepInput in = decoded(child);
    CHECK(in.chapter_position == static_cast<int>(i + 1));
    CHECK(in.chapter.title == output.chapters[i].title);
    CHECK(in.chapter.summary == output.chapters[i].summary);
    CHECK(in.slot == subject_input().slot);
    CHECK(in.options == subject_input().options);
  }
  CHECK(ids.size() == 3);
  CHECK(ids.count(root.id) == 0);
}

TEST_CASE("cascade: a chapter step creates note and questions jobs per topic as options ask") {
  StepInput chapter_in = subject_input();
  chapter_in.chapter_position = 2;
  chapter_in.chapter = {"Shapes", "Draw."};
  NewJob made;
  made.id = new_job_id(kNow);
  made.parent_id = new_job_id(kNow);
  made.root_id = made.parent_id;
  made.position = 2;
  made.input = encode_step_input(chapter_in);
  Job chapter = job_from(made, JobKind::chapter);
  store::StepOutput output;
  output.topics = {{"Circles", {"a", "b"}}, {"Squares", {"c", "d"}}};

  SUBCASE("notes and questions") {
    auto children = children_for(chapter, chapter_in, output, kNow);
    REQUIRE(children.size() == 4);
    CHECK(children[0].kind == JobKind::note);
    CHECK(children[1].kind == JobKind::questions);
    CHECK(children[2].kind == JobKind::note);
    CHECK(children[3].kind == JobKind::questions);
    for (std::size_t i = 0; i < children.size(); ++i) {
      CAPTURE(i);
      int position = static_cast<int>(i / 2 + 1);
      CHECK(children[i].position == position);
      CHECK(children[i].parent_id == chapter.id);
      CHECK(children[i].root_id == chapter.root_id);
      StepInput in = decoded(children[i]);
      CHECK(in.chapter_position == 2);
      CHECK(in.chapter.title == "Shapes");
      CHECK(in.topic_position == position);
      CHECK(in.topic.title == output.topics[i / 2].title);
      CHECK(in.topic.objectives == output.topics[i / 2].objectives);
    }
  }
  SUBCASE("notes only") {
    chapter_in.options.questions = false;
    auto children = children_for(chapter, chapter_in, output, kNow);
    REQUIRE(children.size() == 2);
    for (const auto& child : children) CHECK(child.kind == JobKind::note);
  }
  SUBCASE("questions only") {
    chapter_in.options.notes = false;
    auto children = children_for(chapter, chapter_in, output, kNow);
    REQUIRE(children.size() == 2);
    for (const auto& child : children) CHECK(child.kind == JobKind::questions);
    CHECK(children[1].position == 2);
  }
}

TEST_CASE("cascade: leaves create no children") {
  Job note;
  note.id = new_job_id(kNow);
  note.kind = JobKind::note;
  store::StepOutput output;
  output.note = Note{"# x", {"a", "b", "c"}};
  CHECK(children_for(note, subject_input(), output, kNow).empty());
  note.kind = JobKind::questions;
  CHECK(children_for(note, subject_input(), output, kNow).empty());
}

TEST_CASE("cascade: children_for_orphan recreates the missing child as children_for would") {
  Job root = job_from(make_root_job(subject_input(), 2, 4, kNow), JobKind::subject);

  SUBCASE("a chapter without its job") {
    store::OrphanedContent orphan;
    orphan.parent = root;
    orphan.position = 3;
    orphan.chapter = ChapterPlan{"Money", "Pay."};
    auto children = children_for_orphan(orphan, kNow);
    REQUIRE(children.size() == 1);
    CHECK(children[0].kind == JobKind::chapter);
    CHECK(children[0].position == 3);
    CHECK(children[0].parent_id == root.id);
    CHECK(children[0].priority == 2);
    CHECK(decoded(children[0]).chapter.title == "Money");
  }
  SUBCASE("a topic without its leaves") {
    StepInput chapter_in = subject_input(true, false);
    chapter_in.chapter_position = 1;
    chapter_in.chapter = {"Numbers", "Count."};
    store::OrphanedContent orphan;
    orphan.parent = root;
    orphan.parent.kind = JobKind::chapter;
    orphan.parent.input = encode_step_input(chapter_in);
    orphan.position = 2;
    orphan.topic = TopicPlan{"Tens", {"group in tens", "count tens"}};
    auto children = children_for_orphan(orphan, kNow);
    REQUIRE(children.size() == 1);  // notes only, as the root's options ask
    CHECK(children[0].kind == JobKind::note);
    CHECK(children[0].position == 2);
    CHECK(decoded(children[0]).topic.title == "Tens");
  }
  SUBCASE("a parent whose input cannot be read yields nothing") {
    store::OrphanedContent orphan;
    orphan.parent = root;
    orphan.parent.input = "corrupt";
    orphan.position = 1;
    orphan.chapter = ChapterPlan{"Numbers", "Count."};
    CHECK(children_for_orphan(orphan, kNow).empty());
  }
}
