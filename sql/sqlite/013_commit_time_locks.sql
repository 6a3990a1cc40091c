-- hydrate schema, version 13 (see sql/postgres/013_commit_time_locks.sql): a root's spend is its
-- counters' cost_usd, so roots.spent_usd goes; a counter has a row per shard, which PostgreSQL's
-- connections spread their writes over and a read sums (SQLite, with one writer, uses shard 0).
ALTER TABLE roots DROP COLUMN spent_usd;
CREATE TABLE metrics_by_shard (
  name   TEXT NOT NULL,
  labels TEXT NOT NULL,
  shard  INTEGER NOT NULL DEFAULT 0,
  value  REAL NOT NULL,
  PRIMARY KEY (name, labels, shard)
);
INSERT INTO metrics_by_shard (name, labels, value) SELECT name, labels, value FROM metrics;
DROP TABLE metrics;
ALTER TABLE metrics_by_shard RENAME TO metrics;
