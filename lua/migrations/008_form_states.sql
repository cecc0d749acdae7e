-- 008: what a person typed into a form that was refused, kept from the refused post to the
-- page it redirects to (post/redirect/get; lib/page.lua). One row per session and form, read
-- once, gone after a few minutes or with the session. The state (typed values and the error
-- messages) is encrypted: a form can hold review answers.
CREATE TABLE form_states (
  session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  form        TEXT NOT NULL,                  -- the address of the form's page, e.g. '/reviews/12'
  state_enc   BLOB NOT NULL,                  -- sealed JSON { values, errors, extra } (lib/crypt.lua)
  expires_at  INTEGER NOT NULL,
  PRIMARY KEY (session_id, form)
) WITHOUT ROWID;
CREATE INDEX form_states_expires ON form_states(expires_at);
