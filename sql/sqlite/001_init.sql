-- hydrate schema, version 1 (SQLite). Times are milliseconds since the Unix epoch.

CREATE TABLE jobs (
  id                 TEXT PRIMARY KEY,
  kind               TEXT NOT NULL CHECK (kind IN ('subject', 'chapter', 'note', 'questions')),
  parent_id          TEXT REFERENCES jobs (id),
  root_id            TEXT NOT NULL,
  position           INTEGER NOT NULL DEFAULT 0,
  status             TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  priority           INTEGER NOT NULL DEFAULT 0,
  input              TEXT NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0,
  max_attempts       INTEGER NOT NULL,
  run_after          INTEGER NOT NULL,
  lease_holder       TEXT,
  lease_token        TEXT,
  lease_expires_at   INTEGER,
  created_at         INTEGER NOT NULL,
  started_at         INTEGER,
  finished_at        INTEGER,
  updated_at         INTEGER NOT NULL,
  last_error         TEXT,
  estimated_cost_usd REAL NOT NULL DEFAULT 0,
  actual_cost_usd    REAL NOT NULL DEFAULT 0
);
-- One child per (parent, kind, position): fan-out and its repair are idempotent.
CREATE UNIQUE INDEX jobs_child ON jobs (parent_id, kind, position);
-- Claims: due pending work by priority, then age.
CREATE INDEX jobs_pending ON jobs (priority DESC, run_after) WHERE status = 'pending';
-- Is anything due, when is the next due, what has waited too long (until-idle, stuck work).
CREATE INDEX jobs_pending_due ON jobs (run_after) WHERE status = 'pending';
-- Claims and reconcile: expired leases.
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
-- Roll-up, status, cancel and requeue of one tree.
CREATE INDEX jobs_root ON jobs (root_id, status, kind);
CREATE INDEX jobs_failed ON jobs (root_id) WHERE status IN ('failed', 'cancelled');

-- The tree a subject job heads: its slot, options, budget and status as operators see it.
CREATE TABLE roots (
  job_id             TEXT PRIMARY KEY REFERENCES jobs (id),
  status             TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  reason             TEXT,
  language           TEXT NOT NULL,
  board              TEXT NOT NULL,
  grade              TEXT NOT NULL,
  subject            TEXT NOT NULL,
  options            TEXT NOT NULL,
  dedupe_key         TEXT NOT NULL,
  trace_id           TEXT NOT NULL,
  estimates          TEXT NOT NULL,
  estimated_cost_usd REAL NOT NULL DEFAULT 0,
  budget_usd         REAL NOT NULL DEFAULT 0,
  leaves_per_topic   INTEGER NOT NULL,
  created_at         INTEGER NOT NULL,
  started_at         INTEGER,
  finished_at        INTEGER
);
-- Idempotent submit: one live root per slot and options.
CREATE UNIQUE INDEX roots_live_dedupe ON roots (dedupe_key) WHERE status IN ('pending', 'running');
CREATE INDEX roots_open ON roots (created_at) WHERE status IN ('pending', 'running');
CREATE INDEX roots_created ON roots (created_at);

-- Content, each row tied to the job that wrote it and unique on (that job, position).
CREATE TABLE chapters (
  job_id   TEXT NOT NULL REFERENCES jobs (id),
  root_id  TEXT NOT NULL,
  position INTEGER NOT NULL,
  title    TEXT NOT NULL,
  summary  TEXT NOT NULL,
  PRIMARY KEY (job_id, position)
);
CREATE TABLE topics (
  job_id     TEXT NOT NULL REFERENCES jobs (id),
  root_id    TEXT NOT NULL,
  position   INTEGER NOT NULL,
  title      TEXT NOT NULL,
  objectives TEXT NOT NULL,
  PRIMARY KEY (job_id, position)
);
CREATE INDEX topics_root ON topics (root_id);
CREATE TABLE notes (
  job_id     TEXT PRIMARY KEY REFERENCES jobs (id),
  root_id    TEXT NOT NULL,
  markdown   TEXT NOT NULL,
  key_points TEXT NOT NULL
);
CREATE TABLE questions (
  job_id      TEXT NOT NULL REFERENCES jobs (id),
  root_id     TEXT NOT NULL,
  position    INTEGER NOT NULL,
  type        TEXT NOT NULL,
  prompt      TEXT NOT NULL,
  options     TEXT NOT NULL,
  answer      TEXT NOT NULL,
  explanation TEXT NOT NULL,
  difficulty  TEXT NOT NULL,
  PRIMARY KEY (job_id, position)
);
CREATE INDEX questions_root ON questions (root_id);

-- Every call to the model, used or not.
CREATE TABLE llm_calls (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id            TEXT NOT NULL,
  root_id           TEXT NOT NULL,
  attempt           INTEGER NOT NULL,
  model             TEXT NOT NULL,
  http_status       INTEGER NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens     INTEGER NOT NULL,
  cost_usd          REAL NOT NULL,
  input_price       REAL NOT NULL DEFAULT 0,
  cached_input_price REAL NOT NULL DEFAULT 0,
  output_price      REAL NOT NULL DEFAULT 0,
  latency_ms        INTEGER NOT NULL,
  error             TEXT,
  used              INTEGER NOT NULL,
  created_at        INTEGER NOT NULL
);
CREATE INDEX llm_calls_root ON llm_calls (root_id);

-- Singletons across processes and machines (the reconciler's JobLock).
CREATE TABLE locks (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Prometheus counters, exact and monotonic across processes.
CREATE TABLE metrics (
  name   TEXT NOT NULL,
  labels TEXT NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (name, labels)
);

CREATE TABLE reconcile_runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  rescued     INTEGER NOT NULL,
  repaired    INTEGER NOT NULL,
  rolled_up   INTEGER NOT NULL,
  closed      INTEGER NOT NULL,
  stuck       INTEGER NOT NULL
);
