// Progress derivation (core/progress.hpp): expected counts are estimates from the options until
// the parent step that decides them succeeds, then exact; overall percent; closing status.
#include <doctest/doctest.h>

#include "core/progress.hpp"

namespace {

using namespace hydrate;

RootOptions options(bool notes = true, bool questions = true) {
  RootOptions o;
  o.chapters = 4;
  o.topics_per_chapter = 3;
  o.questions_per_topic = 10;
  o.notes = notes;
  o.questions = questions;
  return o;
}

}  // namespace

TEST_CASE("progress: a fresh tree expects what its options estimate") {
  store::TreeCounts counts;
  counts.jobs_pending = 1;
  Progress p = derive_progress(counts, options());
  CHECK(p.chapters == LevelCount{0, 4});
  CHECK(p.topics == LevelCount{0, 12});
  CHECK(p.notes == LevelCount{0, 12});
  CHECK(p.questions == LevelCount{0, 120});
  CHECK(p.steps == LevelCount{0, 1 + 4 + 12 * 2});
  CHECK(overall_percent(p) == 0);
}

TEST_CASE("progress: the chapter count becomes exact when the subject step succeeds") {
  store::TreeCounts counts;
  counts.subject_succeeded = true;
  counts.chapter_rows = 5;  // the model planned 5 chapters, not 4
  counts.jobs_succeeded = 1;
  Progress p = derive_progress(counts, options());
  CHECK(p.chapters == LevelCount{0, 5});
  CHECK(p.topics.expected == 15);
  CHECK(p.questions.expected == 150);
  CHECK(p.steps.expected == 1 + 5 + 15 * 2);
}

TEST_CASE("progress: topic counts become exact chapter by chapter") {
  store::TreeCounts counts;
  counts.subject_succeeded = true;
  counts.chapter_rows = 5;
  counts.chapter_jobs_succeeded = 2;
  counts.topic_rows = 7;  // those two chapters planned 3 + 4 topics
  counts.topics_completed = 1;
  counts.note_jobs_succeeded = 2;
  counts.questions_jobs_succeeded = 1;
  counts.question_rows = 10;
  counts.jobs_succeeded = 1 + 2 + 2 + 1;
  Progress p = derive_progress(counts, options());
  CHECK(p.chapters == LevelCount{2, 5});
  // 7 known topics + 3 chapters still to plan x 3.
  CHECK(p.topics == LevelCount{1, 16});
  CHECK(p.notes == LevelCount{2, 16});
  // 10 written questions + 15 topics whose questions are not written yet x 10.
  CHECK(p.questions == LevelCount{10, 10 + 15 * 10});
  CHECK(p.steps == LevelCount{6, 1 + 5 + 16 * 2});
}

TEST_CASE("progress: levels switched off expect nothing") {
  store::TreeCounts counts;
  SUBCASE("no notes") {
    Progress p = derive_progress(counts, options(false, true));
    CHECK(p.notes == LevelCount{0, 0});
    CHECK(p.questions.expected == 120);
    CHECK(p.steps.expected == 1 + 4 + 12);
  }
  SUBCASE("no questions") {
    Progress p = derive_progress(counts, options(true, false));
    CHECK(p.questions == LevelCount{0, 0});
    CHECK(p.notes.expected == 12);
    CHECK(p.steps.expected == 1 + 4 + 12);
  }
  SUBCASE("neither") {
    Progress p = derive_progress(counts, options(false, false));
    CHECK(p.topics.expected == 12);
    CHECK(p.steps.expected == 1 + 4);
  }
}

TEST_CASE("progress: a finished tree is complete at every level and 100 percent") {
  store::TreeCounts counts;
  counts.subject_succeeded = true;
  counts.chapter_rows = 2;
  counts.chapter_jobs_succeeded = 2;
  counts.topic_rows = 6;
  counts.topics_completed = 6;
  counts.note_jobs_succeeded = 6;
  counts.questions_jobs_succeeded = 6;
  counts.question_rows = 60;
  counts.jobs_succeeded = 1 + 2 + 6 + 6;
  Progress p = derive_progress(counts, options());
  CHECK(p.chapters == LevelCount{2, 2});
  CHECK(p.topics == LevelCount{6, 6});
  CHECK(p.notes == LevelCount{6, 6});
  CHECK(p.questions == LevelCount{60, 60});
  CHECK(p.steps == LevelCount{15, 15});
  CHECK(overall_percent(p) == 100);
}

TEST_CASE("progress: overall percent is succeeded steps over expected steps, 0..100") {
  Progress p;
  p.steps = {7, 29};
  CHECK(overall_percent(p) == 24);  // rounded down
  p.steps = {0, 0};
  CHECK(overall_percent(p) == 0);
  p.steps = {40, 29};  // a plan larger than estimated never shows more than 100
  CHECK(overall_percent(p) == 100);
}
