-- A step to a whole cycle reads the cycle's items a page at a time, by id (services/workflows.lua,
-- "WHERE cycle_id = ? AND id > ? ORDER BY id LIMIT ?"). An index on cycle_id alone holds each
-- cycle's rows in id order, so a page is a range of it: without one, a page of a small cycle
-- created long ago could scan every later review of the company.
CREATE INDEX IF NOT EXISTS reviews_cycle ON reviews(cycle_id);
CREATE INDEX IF NOT EXISTS feedback_subjects_cycle ON feedback_subjects(cycle_id);
CREATE INDEX IF NOT EXISTS feedback_nominations_cycle_id ON feedback_nominations(cycle_id);
