-- hydrate schema, version 8 (PostgreSQL only): a tree's counters are written at commit.
-- Version 7 wrote a tree's counter row in the middle of the transaction that changed it (the jobs
-- triggers at the step's first UPDATE of jobs, the content and call writes after it), so the
-- row's lock was held for the rest of the transaction: every step of a tree waited for the whole
-- step result of the one before it, and four workers on one tree ran at half their speed.
-- Now every writer adds its moves to tree_count_moves, one row per transaction and tree that no
-- other transaction touches, and a deferred trigger folds them into tree_counts when the
-- transaction commits, in root order: the counter rows are locked last, for the commit only.
-- With no counter row locked mid-transaction, a row trigger is safe again for UPDATE, and
-- cheaper than version 7's statement trigger: an UPDATE of jobs that changes no status (a lease
-- renewed, a call's cost) is passed over by the trigger's WHEN, without a call or a transition
-- table. INSERT and DELETE keep statement triggers, one write per tree for a bulk load.
-- SQLite has one writer at a time and keeps version 7's direct writes.
--   written by  the triggers on jobs below; insert_content and insert_call
--               (core/store/sql_common.cpp, add_tree_counts);
--   folded by   tree_counts_fold, deferred to the commit of the transaction that wrote them;
--   left over   never: a transaction's moves are deleted by its own fold, or rolled back with it.
-- Lock order: jobs, topics, attempts, roots, metrics, and at commit the trees' counter rows.
-- UNLOGGED: the moves live only inside their transaction, so they need no WAL.
CREATE UNLOGGED TABLE tree_count_moves (
  xid BIGINT NOT NULL DEFAULT txid_current(),
  LIKE tree_counts INCLUDING DEFAULTS,
  PRIMARY KEY (xid, root_id)
);

-- Folds the committing transaction's moves into tree_counts: one write per tree, in root order.
-- It runs once per tree the transaction moved: the first run, finding its own row, folds them
-- all; the others find theirs gone, by the primary key.
CREATE FUNCTION tree_counts_fold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM tree_count_moves WHERE xid = NEW.xid AND root_id = NEW.root_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
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

CREATE CONSTRAINT TRIGGER tree_counts_fold AFTER INSERT ON tree_count_moves
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tree_counts_fold();

-- Jobs inserted or deleted by one statement (the same transition table name for both): signed
-- moves, an inserted job entering its status (+1), a deleted one leaving it (-1); a bulk load
-- may write finished trees, so any status counts. One row per tree.
DROP TRIGGER tree_counts_jobs_inserted ON jobs;
DROP TRIGGER tree_counts_jobs_deleted ON jobs;
DROP FUNCTION tree_counts_jobs_inserted();
DROP FUNCTION tree_counts_jobs_deleted();
CREATE FUNCTION tree_counts_jobs_added() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  d CONSTANT INT := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
  INSERT INTO tree_count_moves AS m (root_id, pending, running, succeeded, failed, cancelled,
                                     subject_succeeded, chapters_succeeded, notes_succeeded,
                                     questions_succeeded)
  SELECT root_id, d * count(*) FILTER (WHERE status = 'pending'),
         d * count(*) FILTER (WHERE status = 'running'),
         d * count(*) FILTER (WHERE status = 'succeeded'),
         d * count(*) FILTER (WHERE status = 'failed'),
         d * count(*) FILTER (WHERE status = 'cancelled'),
         d * count(*) FILTER (WHERE status = 'succeeded' AND kind = 'subject'),
         d * count(*) FILTER (WHERE status = 'succeeded' AND kind = 'chapter'),
         d * count(*) FILTER (WHERE status = 'succeeded' AND kind = 'note'),
         d * count(*) FILTER (WHERE status = 'succeeded' AND kind = 'questions')
  FROM changed_jobs GROUP BY root_id
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
CREATE TRIGGER tree_counts_jobs_inserted AFTER INSERT ON jobs
REFERENCING NEW TABLE AS changed_jobs FOR EACH STATEMENT EXECUTE FUNCTION tree_counts_jobs_added();
CREATE TRIGGER tree_counts_jobs_deleted AFTER DELETE ON jobs
REFERENCING OLD TABLE AS changed_jobs FOR EACH STATEMENT EXECUTE FUNCTION tree_counts_jobs_added();

-- Version 7's statement trigger on UPDATE is replaced by a row trigger.
DROP TRIGGER tree_counts_jobs_moved ON jobs;
DROP FUNCTION tree_counts_jobs_moved();

-- A job whose status changed leaves its old status (-1) and enters the new one (+1). A leaf (note
-- or questions) that becomes or stops being succeeded moves its topic's count of succeeded leaves
-- (the topic at its parent chapter and position; the topic's row lock orders two leaves of one
-- topic finishing at once), and the topic is completed when that count reaches the root's
-- leaves per topic.
CREATE FUNCTION tree_counts_job_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  o CONSTANT TEXT := OLD.status;
  n CONSTANT TEXT := NEW.status;
  k CONSTANT TEXT := NEW.kind;
  won CONSTANT INT := (n = 'succeeded')::int - (o = 'succeeded')::int;
  completed BIGINT := 0;
  leaves BIGINT;
  per_topic BIGINT;
BEGIN
  IF won <> 0 AND k IN ('note', 'questions') THEN
    UPDATE topics SET leaves_succeeded = leaves_succeeded + won
    WHERE job_id = NEW.parent_id AND position = NEW.position
    RETURNING leaves_succeeded INTO leaves;
    IF FOUND THEN
      SELECT leaves_per_topic INTO per_topic FROM roots WHERE job_id = NEW.root_id;
      completed := (leaves = per_topic)::int - (leaves - won = per_topic)::int;
    END IF;
  END IF;
  INSERT INTO tree_count_moves AS m (root_id, pending, running, succeeded, failed, cancelled,
                                     subject_succeeded, chapters_succeeded, notes_succeeded,
                                     questions_succeeded, topics_completed)
  VALUES (NEW.root_id, (n = 'pending')::int - (o = 'pending')::int,
          (n = 'running')::int - (o = 'running')::int, won,
          (n = 'failed')::int - (o = 'failed')::int,
          (n = 'cancelled')::int - (o = 'cancelled')::int,
          (k = 'subject')::int * won, (k = 'chapter')::int * won, (k = 'note')::int * won,
          (k = 'questions')::int * won, completed)
  ON CONFLICT (xid, root_id) DO UPDATE SET
    pending = m.pending + excluded.pending, running = m.running + excluded.running,
    succeeded = m.succeeded + excluded.succeeded, failed = m.failed + excluded.failed,
    cancelled = m.cancelled + excluded.cancelled,
    subject_succeeded = m.subject_succeeded + excluded.subject_succeeded,
    chapters_succeeded = m.chapters_succeeded + excluded.chapters_succeeded,
    notes_succeeded = m.notes_succeeded + excluded.notes_succeeded,
    questions_succeeded = m.questions_succeeded + excluded.questions_succeeded,
    topics_completed = m.topics_completed + excluded.topics_completed;
  RETURN NULL;
END $$;

CREATE TRIGGER tree_counts_job_moved AFTER UPDATE OF status ON jobs
FOR EACH ROW WHEN (OLD.status <> NEW.status) EXECUTE FUNCTION tree_counts_job_moved();
