-- hydrate schema, version 7: each tree's progress kept as it changes, one row per root, so a
-- root's status reads one row instead of aggregating its jobs, content and calls (the admin
-- API's GET of a job, polled by every open dashboard, and the `status` table).
--   jobs counts       the tree's jobs by status, and its succeeded jobs by kind: kept by the
--                     statement triggers below, whichever statement changes a job's status;
--   content rows      chapters, topics and questions written: added by the step result that
--                     inserts them (core/store/sql_store.cpp, insert_content);
--   topics_completed  topics whose every leaf succeeded: a topic's succeeded leaves are counted
--                     on its row (topics.leaves_succeeded) by the trigger on leaf jobs; the
--                     topic's row lock orders two leaves of one topic finishing at once;
--   calls             the tree's logged calls, tokens and cost (in total and by the kind of the
--                     step that made them): added by the statement that logs the call
--                     (core/store/sql_common.cpp, insert_call).
-- Lock order: a writer changes a tree's counters after the jobs it changes (the triggers run at
-- the end of the statement that changed them, and write the rows of several trees in root
-- order), then the attempt log, then roots. Row-level triggers would lock a tree's row at its
-- first changed job, in whatever order a claim meets the rows: two claims could deadlock.
CREATE TABLE tree_counts (
  root_id             TEXT PRIMARY KEY,
  pending             BIGINT NOT NULL DEFAULT 0,
  running             BIGINT NOT NULL DEFAULT 0,
  succeeded           BIGINT NOT NULL DEFAULT 0,
  failed              BIGINT NOT NULL DEFAULT 0,
  cancelled           BIGINT NOT NULL DEFAULT 0,
  subject_succeeded   BIGINT NOT NULL DEFAULT 0,
  chapters_succeeded  BIGINT NOT NULL DEFAULT 0,
  notes_succeeded     BIGINT NOT NULL DEFAULT 0,
  questions_succeeded BIGINT NOT NULL DEFAULT 0,
  chapter_rows        BIGINT NOT NULL DEFAULT 0,
  topic_rows          BIGINT NOT NULL DEFAULT 0,
  topics_completed    BIGINT NOT NULL DEFAULT 0,
  question_rows       BIGINT NOT NULL DEFAULT 0,
  calls               BIGINT NOT NULL DEFAULT 0,
  prompt_tokens       BIGINT NOT NULL DEFAULT 0,
  completion_tokens   BIGINT NOT NULL DEFAULT 0,
  cached_tokens       BIGINT NOT NULL DEFAULT 0,
  cost_usd            DOUBLE PRECISION NOT NULL DEFAULT 0,
  subject_cost_usd    DOUBLE PRECISION NOT NULL DEFAULT 0,
  chapter_cost_usd    DOUBLE PRECISION NOT NULL DEFAULT 0,
  note_cost_usd       DOUBLE PRECISION NOT NULL DEFAULT 0,
  questions_cost_usd  DOUBLE PRECISION NOT NULL DEFAULT 0
);
ALTER TABLE topics ADD COLUMN leaves_succeeded INTEGER NOT NULL DEFAULT 0;

-- The trigger functions: each writes the statement's moves with one statement of its own, which
-- PL/pgSQL plans once per session (the same upsert, repeated: shared through an SQL function it
-- was planned again at every call). Most UPDATEs of jobs change no status (a call's cost, a
-- reservation, a lease renewed): the moved trigger returns after one probe of its rows.
CREATE FUNCTION tree_counts_jobs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Signed moves (a job entering, +1, or leaving, -1, a status), one write per tree in root
  -- order.
  INSERT INTO tree_counts AS t (root_id, pending, running, succeeded, failed, cancelled,
                                subject_succeeded, chapters_succeeded, notes_succeeded,
                                questions_succeeded)
  SELECT root_id, sum(d * (s = 'pending')::int), sum(d * (s = 'running')::int),
         sum(d * (s = 'succeeded')::int), sum(d * (s = 'failed')::int),
         sum(d * (s = 'cancelled')::int),
         sum(d * (s = 'succeeded' AND k = 'subject')::int),
         sum(d * (s = 'succeeded' AND k = 'chapter')::int),
         sum(d * (s = 'succeeded' AND k = 'note')::int),
         sum(d * (s = 'succeeded' AND k = 'questions')::int)
  FROM (SELECT root_id, kind, status, 1 FROM new_jobs) AS m(root_id, k, s, d)
  GROUP BY root_id ORDER BY root_id
  ON CONFLICT (root_id) DO UPDATE SET
    pending = t.pending + excluded.pending, running = t.running + excluded.running,
    succeeded = t.succeeded + excluded.succeeded, failed = t.failed + excluded.failed,
    cancelled = t.cancelled + excluded.cancelled,
    subject_succeeded = t.subject_succeeded + excluded.subject_succeeded,
    chapters_succeeded = t.chapters_succeeded + excluded.chapters_succeeded,
    notes_succeeded = t.notes_succeeded + excluded.notes_succeeded,
    questions_succeeded = t.questions_succeeded + excluded.questions_succeeded;
  RETURN NULL;
END $$;

CREATE FUNCTION tree_counts_jobs_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Signed moves (a job entering, +1, or leaving, -1, a status), one write per tree in root
  -- order.
  INSERT INTO tree_counts AS t (root_id, pending, running, succeeded, failed, cancelled,
                                subject_succeeded, chapters_succeeded, notes_succeeded,
                                questions_succeeded)
  SELECT root_id, sum(d * (s = 'pending')::int), sum(d * (s = 'running')::int),
         sum(d * (s = 'succeeded')::int), sum(d * (s = 'failed')::int),
         sum(d * (s = 'cancelled')::int),
         sum(d * (s = 'succeeded' AND k = 'subject')::int),
         sum(d * (s = 'succeeded' AND k = 'chapter')::int),
         sum(d * (s = 'succeeded' AND k = 'note')::int),
         sum(d * (s = 'succeeded' AND k = 'questions')::int)
  FROM (SELECT root_id, kind, status, -1 FROM old_jobs) AS m(root_id, k, s, d)
  GROUP BY root_id ORDER BY root_id
  ON CONFLICT (root_id) DO UPDATE SET
    pending = t.pending + excluded.pending, running = t.running + excluded.running,
    succeeded = t.succeeded + excluded.succeeded, failed = t.failed + excluded.failed,
    cancelled = t.cancelled + excluded.cancelled,
    subject_succeeded = t.subject_succeeded + excluded.subject_succeeded,
    chapters_succeeded = t.chapters_succeeded + excluded.chapters_succeeded,
    notes_succeeded = t.notes_succeeded + excluded.notes_succeeded,
    questions_succeeded = t.questions_succeeded + excluded.questions_succeeded;
  RETURN NULL;
END $$;

CREATE FUNCTION tree_counts_jobs_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM new_jobs n JOIN old_jobs o ON o.id = n.id
                 WHERE o.status <> n.status) THEN
    RETURN NULL;
  END IF;
  -- Signed moves (a job entering, +1, or leaving, -1, a status), one write per tree in root
  -- order.
  INSERT INTO tree_counts AS t (root_id, pending, running, succeeded, failed, cancelled,
                                subject_succeeded, chapters_succeeded, notes_succeeded,
                                questions_succeeded)
  SELECT root_id, sum(d * (s = 'pending')::int), sum(d * (s = 'running')::int),
         sum(d * (s = 'succeeded')::int), sum(d * (s = 'failed')::int),
         sum(d * (s = 'cancelled')::int),
         sum(d * (s = 'succeeded' AND k = 'subject')::int),
         sum(d * (s = 'succeeded' AND k = 'chapter')::int),
         sum(d * (s = 'succeeded' AND k = 'note')::int),
         sum(d * (s = 'succeeded' AND k = 'questions')::int)
  FROM (SELECT n.root_id, n.kind, n.status, 1
        FROM new_jobs n JOIN old_jobs o ON o.id = n.id WHERE o.status <> n.status
        UNION ALL
        SELECT o.root_id, o.kind, o.status, -1
        FROM new_jobs n JOIN old_jobs o ON o.id = n.id WHERE o.status <> n.status) AS m(root_id, k, s, d)
  GROUP BY root_id ORDER BY root_id
  ON CONFLICT (root_id) DO UPDATE SET
    pending = t.pending + excluded.pending, running = t.running + excluded.running,
    succeeded = t.succeeded + excluded.succeeded, failed = t.failed + excluded.failed,
    cancelled = t.cancelled + excluded.cancelled,
    subject_succeeded = t.subject_succeeded + excluded.subject_succeeded,
    chapters_succeeded = t.chapters_succeeded + excluded.chapters_succeeded,
    notes_succeeded = t.notes_succeeded + excluded.notes_succeeded,
    questions_succeeded = t.questions_succeeded + excluded.questions_succeeded;
  -- A leaf (note or questions) belongs to the topic at its parent chapter and position.
  WITH leaves AS (
    SELECT n.parent_id, n.position,
           sum(CASE WHEN n.status = 'succeeded' THEN 1 ELSE -1 END) AS d
    FROM new_jobs n JOIN old_jobs o ON o.id = n.id
    WHERE n.kind IN ('note', 'questions') AND (o.status = 'succeeded') <> (n.status = 'succeeded')
    GROUP BY n.parent_id, n.position),
  topic AS (
    UPDATE topics t SET leaves_succeeded = t.leaves_succeeded + l.d
    FROM leaves l WHERE t.job_id = l.parent_id AND t.position = l.position
    RETURNING t.root_id, t.leaves_succeeded AS after, t.leaves_succeeded - l.d AS before),
  done AS (
    SELECT topic.root_id, sum((topic.after = r.leaves_per_topic)::int
                              - (topic.before = r.leaves_per_topic)::int) AS d
    FROM topic JOIN roots r ON r.job_id = topic.root_id GROUP BY topic.root_id)
  UPDATE tree_counts c SET topics_completed = c.topics_completed + done.d
  FROM done WHERE c.root_id = done.root_id AND done.d <> 0;
  RETURN NULL;
END $$;

CREATE TRIGGER tree_counts_jobs_inserted AFTER INSERT ON jobs
REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION tree_counts_jobs_inserted();
CREATE TRIGGER tree_counts_jobs_deleted AFTER DELETE ON jobs
REFERENCING OLD TABLE AS old_jobs FOR EACH STATEMENT EXECUTE FUNCTION tree_counts_jobs_deleted();
CREATE TRIGGER tree_counts_jobs_moved AFTER UPDATE ON jobs
REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
FOR EACH STATEMENT EXECUTE FUNCTION tree_counts_jobs_moved();

-- The counters of the trees already here, from the rows they count.
INSERT INTO tree_counts (root_id, pending, running, succeeded, failed, cancelled,
                         subject_succeeded, chapters_succeeded, notes_succeeded,
                         questions_succeeded)
SELECT root_id, count(*) FILTER (WHERE status = 'pending'),
       count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'succeeded'),
       count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled'),
       count(*) FILTER (WHERE status = 'succeeded' AND kind = 'subject'),
       count(*) FILTER (WHERE status = 'succeeded' AND kind = 'chapter'),
       count(*) FILTER (WHERE status = 'succeeded' AND kind = 'note'),
       count(*) FILTER (WHERE status = 'succeeded' AND kind = 'questions')
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
