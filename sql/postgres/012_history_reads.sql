-- hydrate schema, version 12: reads that grew with history.
-- The claims of a report window by how they ended (`hydrate report`'s claim success rate),
-- counted one outcome at a time: each count is a range of attempts_outcome_claimed, read in the
-- index alone, where grouping the window's claims by outcome sorted every one of them. It
-- replaces attempts_claimed, which served only that grouping.
CREATE INDEX attempts_outcome_claimed ON attempts (outcome, claimed_at);
DROP INDEX attempts_claimed;
-- A tree's notes (`hydrate export`), which were found by reading every note.
CREATE INDEX notes_root ON notes (root_id);
