#include "core/progress.hpp"

#include <algorithm>

namespace hydrate {

Progress derive_progress(const store::TreeCounts& c, const RootOptions& options) {
  Progress p;
  const std::int64_t per_chapter = options.topics_per_chapter;
  const std::int64_t per_topic = options.questions_per_topic;
  p.chapters.expected = c.subject_succeeded ? c.chapter_rows : options.chapters;
  p.chapters.completed = c.chapter_jobs_succeeded;
  p.topics.expected =
      c.topic_rows +
      std::max<std::int64_t>(0, p.chapters.expected - c.chapter_jobs_succeeded) * per_chapter;
  p.topics.completed = c.topics_completed;
  if (options.notes) {
    p.notes.expected = p.topics.expected;
    p.notes.completed = c.note_jobs_succeeded;
  }
  if (options.questions) {
    p.questions.expected =
        c.question_rows +
        std::max<std::int64_t>(0, p.topics.expected - c.questions_jobs_succeeded) * per_topic;
    p.questions.completed = c.question_rows;
  }
  int leaves_per_topic = (options.notes ? 1 : 0) + (options.questions ? 1 : 0);
  p.steps.expected = 1 + p.chapters.expected + p.topics.expected * leaves_per_topic;
  p.steps.completed = c.jobs_succeeded;
  return p;
}

int overall_percent(const Progress& progress) {
  if (progress.steps.expected <= 0) return 0;
  auto percent = progress.steps.completed * 100 / progress.steps.expected;
  return static_cast<int>(std::clamp<std::int64_t>(percent, 0, 100));
}

}  // namespace hydrate
