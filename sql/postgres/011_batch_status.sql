-- hydrate schema, version 11: the batches by status that `hydrate metrics` counts
-- (hydrate_batches{status}). The status is the provider's once it has one, else the record's
-- state (core/batch/accounting.hpp); one covering index over both columns lets the count read
-- the index alone instead of the table, whose rows grow with the error and file columns.
CREATE INDEX batches_status ON batches (provider_status, state);
