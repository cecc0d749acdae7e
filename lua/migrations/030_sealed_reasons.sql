-- The reasons people type when they reopen a review or 360 feedback, or unveil the writer of an
-- anonymous praise, are confidential: they are kept here, encrypted like the other confidential
-- text (services/reasons.lua), and the history and audit entries that have one name its row in
-- their details (reason_id) instead of holding the words.
CREATE TABLE sealed_reasons (
  id          INTEGER PRIMARY KEY,
  text_enc    BLOB,
  created_at  INTEGER NOT NULL
);

-- Earlier versions kept those reasons in plain text in review_events, feedback_events and
-- audit_log. A migration is SQL and cannot encrypt (the key is outside the database), so this
-- row asks the next start to seal them: services/reasons.lua seal_stored(), run by app.init
-- right after the migrations, in one transaction, which deletes the row when it is done.
CREATE TABLE reasons_to_seal (
  id  INTEGER PRIMARY KEY CHECK (id = 1)
);
INSERT INTO reasons_to_seal(id) VALUES (1);
