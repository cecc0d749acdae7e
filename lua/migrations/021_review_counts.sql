-- How many reviews of each cycle stand where, kept by triggers in the same transaction as every
-- write to reviews (insert, update, delete, cascades and rollbacks included), so the pages that
-- show a cycle's progress (the HR home page, the cycle overview) read a few rows instead of
-- counting the whole cycle on every request. One row per combination of statuses that occurs;
-- n may fall to 0. Statuses only, no content.
CREATE TABLE review_counts (
  cycle_id        INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
  self_status     TEXT NOT NULL,
  manager_status  TEXT NOT NULL,
  has_writer      INTEGER NOT NULL, -- manager_id is set
  reviewee_signed INTEGER NOT NULL,
  manager_signed  INTEGER NOT NULL,
  closed          INTEGER NOT NULL,
  n               INTEGER NOT NULL,
  PRIMARY KEY (cycle_id, self_status, manager_status, has_writer, reviewee_signed, manager_signed, closed)
) WITHOUT ROWID;

INSERT INTO review_counts
  SELECT cycle_id, self_status, manager_status, manager_id IS NOT NULL, reviewee_signed_at IS NOT NULL,
    manager_signed_at IS NOT NULL, closed_at IS NOT NULL, count(*)
  FROM reviews WHERE cycle_id IN (SELECT id FROM cycles) GROUP BY 1, 2, 3, 4, 5, 6, 7;

CREATE TRIGGER review_counts_insert AFTER INSERT ON reviews BEGIN
  INSERT INTO review_counts VALUES (NEW.cycle_id, NEW.self_status, NEW.manager_status, NEW.manager_id IS NOT NULL,
    NEW.reviewee_signed_at IS NOT NULL, NEW.manager_signed_at IS NOT NULL, NEW.closed_at IS NOT NULL, 1)
  ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER review_counts_delete AFTER DELETE ON reviews BEGIN
  UPDATE review_counts SET n = n - 1 WHERE cycle_id = OLD.cycle_id AND self_status = OLD.self_status
    AND manager_status = OLD.manager_status AND has_writer = (OLD.manager_id IS NOT NULL)
    AND reviewee_signed = (OLD.reviewee_signed_at IS NOT NULL) AND manager_signed = (OLD.manager_signed_at IS NOT NULL)
    AND closed = (OLD.closed_at IS NOT NULL);
END;

CREATE TRIGGER review_counts_update AFTER UPDATE OF cycle_id, self_status, manager_status, manager_id,
    reviewee_signed_at, manager_signed_at, closed_at ON reviews
  WHEN OLD.cycle_id IS NOT NEW.cycle_id OR OLD.self_status IS NOT NEW.self_status
    OR OLD.manager_status IS NOT NEW.manager_status OR (OLD.manager_id IS NULL) <> (NEW.manager_id IS NULL)
    OR (OLD.reviewee_signed_at IS NULL) <> (NEW.reviewee_signed_at IS NULL)
    OR (OLD.manager_signed_at IS NULL) <> (NEW.manager_signed_at IS NULL)
    OR (OLD.closed_at IS NULL) <> (NEW.closed_at IS NULL)
BEGIN
  UPDATE review_counts SET n = n - 1 WHERE cycle_id = OLD.cycle_id AND self_status = OLD.self_status
    AND manager_status = OLD.manager_status AND has_writer = (OLD.manager_id IS NOT NULL)
    AND reviewee_signed = (OLD.reviewee_signed_at IS NOT NULL) AND manager_signed = (OLD.manager_signed_at IS NOT NULL)
    AND closed = (OLD.closed_at IS NOT NULL);
  INSERT INTO review_counts VALUES (NEW.cycle_id, NEW.self_status, NEW.manager_status, NEW.manager_id IS NOT NULL,
    NEW.reviewee_signed_at IS NOT NULL, NEW.manager_signed_at IS NOT NULL, NEW.closed_at IS NOT NULL, 1)
  ON CONFLICT DO UPDATE SET n = n + 1;
END;
