-- hydrate schema, version 7: each tree's progress kept as it changes, one row per root, so a
-- root's status reads one row instead of aggregating its jobs, content and calls (the admin
-- API's GET of a job, polled by every open dashboard, and the `status` table).
--   jobs counts       the tree's jobs by status, and its succeeded jobs by kind: kept by the
--                     triggers below, whichever statement changes a job's status;
--   content rows      chapters, topics and questions written: added by the step result that
--                     inserts them (core/store/sql_store.cpp, insert_content);
--   topics_completed  topics whose every leaf succeeded: a topic's succeeded leaves are counted
--                     on its row (topics.leaves_succeeded) by the trigger on leaf jobs;
--   calls             the tree's logged calls, tokens and cost (in total and by the kind of the
--                     step that made them): added by the statement that logs the call
--                     (core/store/sql_common.cpp, insert_call).
-- A writer changes a tree's counters after the jobs it changes, so the counters' row lock comes
-- between the jobs and the attempt log in the lock order (PostgreSQL, 007's twin).
CREATE TABLE tree_counts (
  root_id             TEXT PRIMARY KEY,
  pending             INTEGER NOT NULL DEFAULT 0,
  running             INTEGER NOT NULL DEFAULT 0,
  succeeded           INTEGER NOT NULL DEFAULT 0,
  failed              INTEGER NOT NULL DEFAULT 0,
  cancelled           INTEGER NOT NULL DEFAULT 0,
  subject_succeeded   INTEGER NOT NULL DEFAULT 0,
  chapters_succeeded  INTEGER NOT NULL DEFAULT 0,
  notes_succeeded     INTEGER NOT NULL DEFAULT 0,
  questions_succeeded INTEGER NOT NULL DEFAULT 0,
  chapter_rows        INTEGER NOT NULL DEFAULT 0,
  topic_rows          INTEGER NOT NULL DEFAULT 0,
  topics_completed    INTEGER NOT NULL DEFAULT 0,
  question_rows       INTEGER NOT NULL DEFAULT 0,
  calls               INTEGER NOT NULL DEFAULT 0,
  prompt_tokens       INTEGER NOT NULL DEFAULT 0,
  completion_tokens   INTEGER NOT NULL DEFAULT 0,
  cached_tokens       INTEGER NOT NULL DEFAULT 0,
  cost_usd            REAL NOT NULL DEFAULT 0,
  subject_cost_usd    REAL NOT NULL DEFAULT 0,
  chapter_cost_usd    REAL NOT NULL DEFAULT 0,
  note_cost_usd       REAL NOT NULL DEFAULT 0,
  questions_cost_usd  REAL NOT NULL DEFAULT 0
);
ALTER TABLE topics ADD COLUMN leaves_succeeded INTEGER NOT NULL DEFAULT 0;

-- Jobs are inserted pending by hydrate; counted whatever their status, as a bulk load may write
-- finished trees.
CREATE TRIGGER tree_counts_job_inserted AFTER INSERT ON jobs BEGIN
  INSERT INTO tree_counts (root_id) VALUES (new.root_id) ON CONFLICT (root_id) DO NOTHING;
  UPDATE tree_counts SET
    pending = pending + (new.status = 'pending'),
    running = running + (new.status = 'running'),
    succeeded = succeeded + (new.status = 'succeeded'),
    failed = failed + (new.status = 'failed'),
    cancelled = cancelled + (new.status = 'cancelled'),
    subject_succeeded = subject_succeeded + (new.status = 'succeeded' AND new.kind = 'subject'),
    chapters_succeeded = chapters_succeeded + (new.status = 'succeeded' AND new.kind = 'chapter'),
    notes_succeeded = notes_succeeded + (new.status = 'succeeded' AND new.kind = 'note'),
    questions_succeeded = questions_succeeded + (new.status = 'succeeded' AND new.kind = 'questions')
  WHERE root_id = new.root_id;
END;

CREATE TRIGGER tree_counts_job_deleted AFTER DELETE ON jobs BEGIN
  UPDATE tree_counts SET
    pending = pending - (old.status = 'pending'),
    running = running - (old.status = 'running'),
    succeeded = succeeded - (old.status = 'succeeded'),
    failed = failed - (old.status = 'failed'),
    cancelled = cancelled - (old.status = 'cancelled'),
    subject_succeeded = subject_succeeded - (old.status = 'succeeded' AND old.kind = 'subject'),
    chapters_succeeded = chapters_succeeded - (old.status = 'succeeded' AND old.kind = 'chapter'),
    notes_succeeded = notes_succeeded - (old.status = 'succeeded' AND old.kind = 'note'),
    questions_succeeded = questions_succeeded - (old.status = 'succeeded' AND old.kind = 'questions')
  WHERE root_id = old.root_id;
END;

CREATE TRIGGER tree_counts_job_moved AFTER UPDATE OF status ON jobs
WHEN old.status <> new.status BEGIN
  UPDATE tree_counts SET
    pending = pending + (new.status = 'pending') - (old.status = 'pending'),
    running = running + (new.status = 'running') - (old.status = 'running'),
    succeeded = succeeded + (new.status = 'succeeded') - (old.status = 'succeeded'),
    failed = failed + (new.status = 'failed') - (old.status = 'failed'),
    cancelled = cancelled + (new.status = 'cancelled') - (old.status = 'cancelled'),
    subject_succeeded = subject_succeeded + (new.status = 'succeeded' AND new.kind = 'subject')
                        - (old.status = 'succeeded' AND old.kind = 'subject'),
    chapters_succeeded = chapters_succeeded + (new.status = 'succeeded' AND new.kind = 'chapter')
                         - (old.status = 'succeeded' AND old.kind = 'chapter'),
    notes_succeeded = notes_succeeded + (new.status = 'succeeded' AND new.kind = 'note')
                      - (old.status = 'succeeded' AND old.kind = 'note'),
    questions_succeeded = questions_succeeded
                          + (new.status = 'succeeded' AND new.kind = 'questions')
                          - (old.status = 'succeeded' AND old.kind = 'questions')
  WHERE root_id = new.root_id;
END;

-- A leaf (note or questions) belongs to the topic at its parent chapter and position.
CREATE TRIGGER tree_counts_leaf_moved AFTER UPDATE OF status ON jobs
WHEN new.kind IN ('note', 'questions')
     AND (old.status = 'succeeded') <> (new.status = 'succeeded') BEGIN
  UPDATE topics SET leaves_succeeded = leaves_succeeded + iif(new.status = 'succeeded', 1, -1)
  WHERE job_id = new.parent_id AND position = new.position;
  UPDATE tree_counts SET topics_completed = topics_completed + (
    SELECT CASE WHEN new.status = 'succeeded' THEN t.leaves_succeeded = r.leaves_per_topic
                ELSE -(t.leaves_succeeded = r.leaves_per_topic - 1) END
    FROM topics t, roots r
    WHERE t.job_id = new.parent_id AND t.position = new.position AND r.job_id = new.root_id)
  WHERE root_id = new.root_id
    AND EXISTS (SELECT 1 FROM topics WHERE job_id = new.parent_id AND position = new.position);
END;

-- The counters of the trees already here, from the rows they count.
INSERT INTO tree_counts (root_id, pending, running, succeeded, failed, cancelled,
                         subject_succeeded, chapters_succeeded, notes_succeeded,
                         questions_succeeded)
SELECT root_id, sum(status = 'pending'), sum(status = 'running'), sum(status = 'succeeded'),
       sum(status = 'failed'), sum(status = 'cancelled'),
       sum(status = 'succeeded' AND kind = 'subject'),
       sum(status = 'succeeded' AND kind = 'chapter'), sum(status = 'succeeded' AND kind = 'note'),
       sum(status = 'succeeded' AND kind = 'questions')
FROM jobs GROUP BY root_id;
UPDATE topics SET leaves_succeeded = (
  SELECT count(*) FROM jobs l
  WHERE l.parent_id = topics.job_id AND l.position = topics.position
    AND l.kind IN ('note', 'questions') AND l.status = 'succeeded');
UPDATE tree_counts SET
  chapter_rows = (SELECT count(*) FROM chapters WHERE job_id = tree_counts.root_id),
  topic_rows = (SELECT count(*) FROM topics WHERE root_id = tree_counts.root_id),
  topics_completed = (SELECT count(*) FROM topics t JOIN roots r ON r.job_id = t.root_id
                      WHERE t.root_id = tree_counts.root_id
                        AND t.leaves_succeeded = r.leaves_per_topic),
  question_rows = (SELECT count(*) FROM questions WHERE root_id = tree_counts.root_id);
UPDATE tree_counts SET
  calls = c.calls, prompt_tokens = c.prompt, completion_tokens = c.completion,
  cached_tokens = c.cached, cost_usd = c.cost, subject_cost_usd = c.subject,
  chapter_cost_usd = c.chapter, note_cost_usd = c.note, questions_cost_usd = c.questions
FROM (SELECT l.root_id, count(*) AS calls, sum(l.prompt_tokens) AS prompt,
             sum(l.completion_tokens) AS completion, sum(l.cached_tokens) AS cached,
             sum(l.cost_usd) AS cost,
             sum(CASE WHEN j.kind = 'subject' THEN l.cost_usd ELSE 0 END) AS subject,
             sum(CASE WHEN j.kind = 'chapter' THEN l.cost_usd ELSE 0 END) AS chapter,
             sum(CASE WHEN j.kind = 'note' THEN l.cost_usd ELSE 0 END) AS note,
             sum(CASE WHEN j.kind = 'questions' THEN l.cost_usd ELSE 0 END) AS questions
      FROM llm_calls l JOIN jobs j ON j.id = l.job_id GROUP BY l.root_id) AS c
WHERE tree_counts.root_id = c.root_id;

-- A root's recent errors: the newest of its jobs that carry one.
CREATE INDEX jobs_errors ON jobs (root_id, updated_at)
WHERE last_error IS NOT NULL OR last_transient_error IS NOT NULL;
