-- A state's lock id also on its row, kept in step by every lock change (which holds the row's
-- lock): a write then checks its revision and its lock in the one UPDATE that moves the row,
-- and commits in a single statement.

ALTER TABLE states ADD COLUMN lock_id text;

UPDATE states s SET lock_id = l.id FROM locks l WHERE l.name = s.name;
