-- hydrate schema, version 13: a step result locks no row another writer needs until it commits.
-- Four workers on PostgreSQL waited on each other for a third of their time (pg_stat_activity,
-- sampled every 3 ms): a leaf's success updated its topic's count of succeeded leaves at its
-- first statement, so the topic's other leaf, finished by another worker, waited for the whole
-- transaction; every call logged added to its root's spent_usd mid-transaction; and every
-- worker's commit added to the same metrics rows.
--   topics        a leaf's move of its topic's count goes to topic_moves, like the tree's moves
--                 to tree_count_moves (version 8), and the fold applies both at commit;
--   spent_usd     is dropped: a root's spend is its counters' cost_usd (tree_counts), which the
--                 same writes keep; a budget reservation reads it with the reservations in flight
--                 in one statement, so a call's commit (its cost in, its reservation out) is seen
--                 whole or not at all, and the root's lock orders only the reservations;
--   metrics       a counter has a row per shard: each connection adds to its own shard (chosen
--                 at random when it opens, core/store/postgres_connection.cpp), and a read sums
--                 them. A gauge is set in shard 0 only.
-- Lock order at commit: the topics in (chapter, position) order, then the trees' counter rows in
-- root order. No other writer locks either.
ALTER TABLE roots DROP COLUMN spent_usd;
ALTER TABLE metrics ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE metrics DROP CONSTRAINT metrics_pkey;
ALTER TABLE metrics ADD PRIMARY KEY (name, labels, shard);

-- A topic's move of succeeded leaves within one transaction (the topic is its chapter job and
-- position). UNLOGGED: the moves live only inside their transaction.
CREATE UNLOGGED TABLE topic_moves (
  xid      BIGINT NOT NULL DEFAULT txid_current(),
  job_id   TEXT NOT NULL,
  position INTEGER NOT NULL,
  root_id  TEXT NOT NULL,
  d        INTEGER NOT NULL,
  PRIMARY KEY (xid, job_id, position)
);

-- A job whose status changed leaves its old status (-1) and enters the new one (+1); a leaf (note
-- or questions) that becomes or stops being succeeded moves its topic's count (the topic at its
-- parent chapter and position), applied at commit by tree_counts_fold.
CREATE OR REPLACE FUNCTION tree_counts_job_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  o CONSTANT TEXT := OLD.status;
  n CONSTANT TEXT := NEW.status;
  k CONSTANT TEXT := NEW.kind;
  won CONSTANT INT := (n = 'succeeded')::int - (o = 'succeeded')::int;
BEGIN
  IF won <> 0 AND k IN ('note', 'questions') THEN
    INSERT INTO topic_moves AS t (job_id, position, root_id, d)
    VALUES (NEW.parent_id, NEW.position, NEW.root_id, won)
    ON CONFLICT (xid, job_id, position) DO UPDATE SET d = t.d + excluded.d;
  END IF;
  INSERT INTO tree_count_moves AS m (root_id, pending, running, succeeded, failed, cancelled,
                                     subject_succeeded, chapters_succeeded, notes_succeeded,
                                     questions_succeeded)
  VALUES (NEW.root_id, (n = 'pending')::int - (o = 'pending')::int,
          (n = 'running')::int - (o = 'running')::int, won,
          (n = 'failed')::int - (o = 'failed')::int,
          (n = 'cancelled')::int - (o = 'cancelled')::int,
          (k = 'subject')::int * won, (k = 'chapter')::int * won, (k = 'note')::int * won,
          (k = 'questions')::int * won)
  ON CONFLICT (xid, root_id) DO UPDATE SET
    pending = m.pending + excluded.pending, running = m.running + excluded.running,
    succeeded = m.succeeded + excluded.succeeded, failed = m.failed + excluded.failed,
    cancelled = m.cancelled + excluded.cancelled,
    subject_succeeded = m.subject_succeeded + excluded.subject_succeeded,
    chapters_succeeded = m.chapters_succeeded + excluded.chapters_succeeded,
    notes_succeeded = m.notes_succeeded + excluded.notes_succeeded,
    questions_succeeded = m.questions_succeeded + excluded.questions_succeeded;
  RETURN NULL;
END $$;

-- Folds the committing transaction's moves: first its topics' counts, one topic at a time in
-- (chapter, position) order, each completing or uncompleting its topic when the count reaches or
-- leaves the root's leaves per topic; then the trees' counters, one write per tree, in root
-- order. It runs once per tree the transaction moved: the first run, finding its own row, folds
-- them all; the others find theirs gone, by the primary key.
CREATE OR REPLACE FUNCTION tree_counts_fold() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  topic RECORD;
  leaves BIGINT;
  per_topic BIGINT;
BEGIN
  PERFORM 1 FROM tree_count_moves WHERE xid = NEW.xid AND root_id = NEW.root_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  FOR topic IN WITH moved AS (DELETE FROM topic_moves WHERE xid = NEW.xid RETURNING *)
           SELECT * FROM moved WHERE d <> 0 ORDER BY job_id, position LOOP
    UPDATE topics SET leaves_succeeded = leaves_succeeded + topic.d
    WHERE job_id = topic.job_id AND position = topic.position
    RETURNING leaves_succeeded INTO leaves;
    IF FOUND THEN
      SELECT leaves_per_topic INTO per_topic FROM roots WHERE job_id = topic.root_id;
      UPDATE tree_count_moves SET topics_completed = topics_completed
                                    + (leaves = per_topic)::int - (leaves - topic.d = per_topic)::int
      WHERE xid = NEW.xid AND root_id = topic.root_id;
    END IF;
  END LOOP;
  WITH moves AS (DELETE FROM tree_count_moves WHERE xid = NEW.xid RETURNING *)
  INSERT INTO tree_counts AS t (root_id, pending, running, succeeded, failed, cancelled,
                                subject_succeeded, chapters_succeeded, notes_succeeded,
                                questions_succeeded, chapter_rows, topic_rows, topics_completed,
                                question_rows, calls, prompt_tokens, completion_tokens,
                                cached_tokens, cost_usd, subject_cost_usd, chapter_cost_usd,
                                note_cost_usd, questions_cost_usd)
  SELECT root_id, sum(pending), sum(running), sum(succeeded), sum(failed), sum(cancelled),
         sum(subject_succeeded), sum(chapters_succeeded), sum(notes_succeeded),
         sum(questions_succeeded), sum(chapter_rows), sum(topic_rows), sum(topics_completed),
         sum(question_rows), sum(calls), sum(prompt_tokens), sum(completion_tokens),
         sum(cached_tokens), sum(cost_usd), sum(subject_cost_usd), sum(chapter_cost_usd),
         sum(note_cost_usd), sum(questions_cost_usd)
  FROM moves GROUP BY root_id ORDER BY root_id
  ON CONFLICT (root_id) DO UPDATE SET
    pending = t.pending + excluded.pending, running = t.running + excluded.running,
    succeeded = t.succeeded + excluded.succeeded, failed = t.failed + excluded.failed,
    cancelled = t.cancelled + excluded.cancelled,
    subject_succeeded = t.subject_succeeded + excluded.subject_succeeded,
    chapters_succeeded = t.chapters_succeeded + excluded.chapters_succeeded,
    notes_succeeded = t.notes_succeeded + excluded.notes_succeeded,
    questions_succeeded = t.questions_succeeded + excluded.questions_succeeded,
    chapter_rows = t.chapter_rows + excluded.chapter_rows,
    topic_rows = t.topic_rows + excluded.topic_rows,
    topics_completed = t.topics_completed + excluded.topics_completed,
    question_rows = t.question_rows + excluded.question_rows,
    calls = t.calls + excluded.calls, prompt_tokens = t.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = t.completion_tokens + excluded.completion_tokens,
    cached_tokens = t.cached_tokens + excluded.cached_tokens,
    cost_usd = t.cost_usd + excluded.cost_usd,
    subject_cost_usd = t.subject_cost_usd + excluded.subject_cost_usd,
    chapter_cost_usd = t.chapter_cost_usd + excluded.chapter_cost_usd,
    note_cost_usd = t.note_cost_usd + excluded.note_cost_usd,
    questions_cost_usd = t.questions_cost_usd + excluded.questions_cost_usd;
  RETURN NULL;
END $$;
