-- 027: counts that pages show for a whole 360 cycle, the outbox and the audit log, kept by
-- triggers in the same transaction as every write to the rows they count (inserts, updates,
-- deletes, cascades and rollbacks included), as review_counts (021) is for reviews. A page reads
-- a few rows of them instead of counting 60,000 requests or 270,000 mails on every request.
-- Counts only, no content. n may fall to 0.

-- The requests of a 360 cycle per combination of statuses; peer: a reviewer other than the
-- reviewee themself and their manager (the overview's totals count those).
CREATE TABLE feedback_request_counts (
  cycle_id         INTEGER NOT NULL REFERENCES feedback_cycles(id) ON DELETE CASCADE,
  peer             INTEGER NOT NULL,
  status           TEXT NOT NULL,
  feedback_status  TEXT NOT NULL,
  n                INTEGER NOT NULL,
  PRIMARY KEY (cycle_id, peer, status, feedback_status)
) WITHOUT ROWID;

INSERT INTO feedback_request_counts
  SELECT cycle_id, relationship NOT IN ('self', 'manager'), status, feedback_status, count(*)
  FROM feedback_nominations WHERE cycle_id IN (SELECT id FROM feedback_cycles) GROUP BY 1, 2, 3, 4;

-- Per reviewee, their reviewers other than themself and their manager: nominated (all),
-- approved, proposed, declined, written (approved and shared). One row per reviewee who has any.
CREATE TABLE feedback_reviewer_counts (
  subject_id  INTEGER PRIMARY KEY REFERENCES feedback_subjects(id) ON DELETE CASCADE,
  cycle_id    INTEGER NOT NULL,
  nominated   INTEGER NOT NULL,
  approved    INTEGER NOT NULL,
  proposed    INTEGER NOT NULL,
  declined    INTEGER NOT NULL,
  written     INTEGER NOT NULL
);
CREATE INDEX feedback_reviewer_counts_cycle ON feedback_reviewer_counts(cycle_id);

INSERT INTO feedback_reviewer_counts
  SELECT subject_id, min(cycle_id), count(*), sum(status = 'approved'), sum(status = 'proposed'),
    sum(status = 'declined'), sum(status = 'approved' AND feedback_status = 'shared')
  FROM feedback_nominations WHERE relationship NOT IN ('self', 'manager')
    AND subject_id IN (SELECT id FROM feedback_subjects) GROUP BY subject_id;

-- The reviewees of a 360 cycle per combination of their steps.
CREATE TABLE feedback_subject_counts (
  cycle_id          INTEGER NOT NULL REFERENCES feedback_cycles(id) ON DELETE CASCADE,
  nominations_done  INTEGER NOT NULL,
  approved          INTEGER NOT NULL,
  released          INTEGER NOT NULL,
  n                 INTEGER NOT NULL,
  PRIMARY KEY (cycle_id, nominations_done, approved, released)
) WITHOUT ROWID;

INSERT INTO feedback_subject_counts
  SELECT cycle_id, nominations_done_at IS NOT NULL, approved_at IS NOT NULL, released_at IS NOT NULL, count(*)
  FROM feedback_subjects WHERE cycle_id IN (SELECT id FROM feedback_cycles) GROUP BY 1, 2, 3, 4;

CREATE TRIGGER feedback_request_counts_insert AFTER INSERT ON feedback_nominations BEGIN
  INSERT INTO feedback_request_counts VALUES (NEW.cycle_id, NEW.relationship NOT IN ('self', 'manager'), NEW.status,
    NEW.feedback_status, 1)
  ON CONFLICT DO UPDATE SET n = n + 1;
  INSERT INTO feedback_reviewer_counts
    SELECT NEW.subject_id, NEW.cycle_id, 1, NEW.status = 'approved', NEW.status = 'proposed', NEW.status = 'declined',
      NEW.status = 'approved' AND NEW.feedback_status = 'shared'
    WHERE NEW.relationship NOT IN ('self', 'manager')
  ON CONFLICT DO UPDATE SET nominated = nominated + 1, approved = approved + excluded.approved,
    proposed = proposed + excluded.proposed, declined = declined + excluded.declined, written = written + excluded.written;
END;

CREATE TRIGGER feedback_request_counts_delete AFTER DELETE ON feedback_nominations BEGIN
  UPDATE feedback_request_counts SET n = n - 1 WHERE cycle_id = OLD.cycle_id
    AND peer = (OLD.relationship NOT IN ('self', 'manager')) AND status = OLD.status
    AND feedback_status = OLD.feedback_status;
  UPDATE feedback_reviewer_counts SET nominated = nominated - 1, approved = approved - (OLD.status = 'approved'),
    proposed = proposed - (OLD.status = 'proposed'), declined = declined - (OLD.status = 'declined'),
    written = written - (OLD.status = 'approved' AND OLD.feedback_status = 'shared')
  WHERE subject_id = OLD.subject_id AND OLD.relationship NOT IN ('self', 'manager');
END;

CREATE TRIGGER feedback_request_counts_update AFTER UPDATE OF cycle_id, subject_id, relationship, status,
    feedback_status ON feedback_nominations
  WHEN OLD.cycle_id IS NOT NEW.cycle_id OR OLD.subject_id IS NOT NEW.subject_id
    OR OLD.relationship IS NOT NEW.relationship OR OLD.status IS NOT NEW.status
    OR OLD.feedback_status IS NOT NEW.feedback_status
BEGIN
  UPDATE feedback_request_counts SET n = n - 1 WHERE cycle_id = OLD.cycle_id
    AND peer = (OLD.relationship NOT IN ('self', 'manager')) AND status = OLD.status
    AND feedback_status = OLD.feedback_status;
  INSERT INTO feedback_request_counts VALUES (NEW.cycle_id, NEW.relationship NOT IN ('self', 'manager'), NEW.status,
    NEW.feedback_status, 1)
  ON CONFLICT DO UPDATE SET n = n + 1;
  UPDATE feedback_reviewer_counts SET nominated = nominated - 1, approved = approved - (OLD.status = 'approved'),
    proposed = proposed - (OLD.status = 'proposed'), declined = declined - (OLD.status = 'declined'),
    written = written - (OLD.status = 'approved' AND OLD.feedback_status = 'shared')
  WHERE subject_id = OLD.subject_id AND OLD.relationship NOT IN ('self', 'manager');
  INSERT INTO feedback_reviewer_counts
    SELECT NEW.subject_id, NEW.cycle_id, 1, NEW.status = 'approved', NEW.status = 'proposed', NEW.status = 'declined',
      NEW.status = 'approved' AND NEW.feedback_status = 'shared'
    WHERE NEW.relationship NOT IN ('self', 'manager')
  ON CONFLICT DO UPDATE SET nominated = nominated + 1, approved = approved + excluded.approved,
    proposed = proposed + excluded.proposed, declined = declined + excluded.declined, written = written + excluded.written;
END;

CREATE TRIGGER feedback_subject_counts_insert AFTER INSERT ON feedback_subjects BEGIN
  INSERT INTO feedback_subject_counts VALUES (NEW.cycle_id, NEW.nominations_done_at IS NOT NULL,
    NEW.approved_at IS NOT NULL, NEW.released_at IS NOT NULL, 1)
  ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER feedback_subject_counts_delete AFTER DELETE ON feedback_subjects BEGIN
  UPDATE feedback_subject_counts SET n = n - 1 WHERE cycle_id = OLD.cycle_id
    AND nominations_done = (OLD.nominations_done_at IS NOT NULL) AND approved = (OLD.approved_at IS NOT NULL)
    AND released = (OLD.released_at IS NOT NULL);
END;

CREATE TRIGGER feedback_subject_counts_update AFTER UPDATE OF cycle_id, nominations_done_at, approved_at, released_at
    ON feedback_subjects
  WHEN OLD.cycle_id IS NOT NEW.cycle_id OR (OLD.nominations_done_at IS NULL) <> (NEW.nominations_done_at IS NULL)
    OR (OLD.approved_at IS NULL) <> (NEW.approved_at IS NULL) OR (OLD.released_at IS NULL) <> (NEW.released_at IS NULL)
BEGIN
  UPDATE feedback_subject_counts SET n = n - 1 WHERE cycle_id = OLD.cycle_id
    AND nominations_done = (OLD.nominations_done_at IS NOT NULL) AND approved = (OLD.approved_at IS NOT NULL)
    AND released = (OLD.released_at IS NOT NULL);
  INSERT INTO feedback_subject_counts VALUES (NEW.cycle_id, NEW.nominations_done_at IS NOT NULL,
    NEW.approved_at IS NOT NULL, NEW.released_at IS NOT NULL, 1)
  ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- The outbox's mails per status (the outbox page's tabs and its total).
CREATE TABLE outbox_counts (
  status  TEXT PRIMARY KEY,
  n       INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO outbox_counts SELECT status, count(*) FROM outbox GROUP BY status;

CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
  INSERT INTO outbox_counts VALUES (NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
  UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status;
END;

CREATE TRIGGER outbox_counts_update AFTER UPDATE OF status ON outbox WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status;
  INSERT INTO outbox_counts VALUES (NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- The audit log's entries per action (the log is append-only: its triggers refuse updates and
-- deletes, so an insert is the only change to count), and its entries of one action newest first
-- (the log filtered by action reads a page of them in order, not every entry of the action).
CREATE INDEX audit_action_id ON audit_log(action, id);

CREATE TABLE audit_action_counts (
  action  TEXT PRIMARY KEY,
  n       INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO audit_action_counts SELECT action, count(*) FROM audit_log GROUP BY action;

CREATE TRIGGER audit_action_counts_insert AFTER INSERT ON audit_log BEGIN
  INSERT INTO audit_action_counts VALUES (NEW.action, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;
