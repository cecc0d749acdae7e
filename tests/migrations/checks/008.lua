-- Migration 008 (form_states: what was typed into a refused form, kept until its page shows it)
-- on the previous version's database: the table starts empty, holds one state per session and
-- form, and a state goes with its session. May change the database freely.
return function(db, t, info)
  t.eq(info.version, 8)
  t.eq(db.value("SELECT count(*) FROM form_states"), 0, "nothing kept yet")
  local now = 1762337700
  local user = db.insert([[INSERT INTO users(email, name, created_at, updated_at)
    VALUES('form.check@northwind.example', 'Form Check', ?, ?)]], now, now)
  local session = db.insert([[INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,
    user_agent_hash) VALUES(?, ?, 'csrf', ?, ?, ?, ?)]], db.blob("form-check-token"), user, now, now, now + 3600,
    db.blob("ua"))
  db.exec("INSERT INTO form_states(session_id, form, state_enc, expires_at) VALUES(?, '/people/new', ?, ?)",
    session, db.blob("sealed"), now + 600)
  t.eq(db.try_exec("INSERT INTO form_states(session_id, form, state_enc, expires_at) VALUES(?, '/people/new', ?, ?)",
    session, db.blob("again"), now + 600), nil, "one state per session and form")
  t.eq(db.try_exec("INSERT INTO form_states(session_id, form, state_enc, expires_at) VALUES(99999, '/x', ?, ?)",
    db.blob("x"), now), nil, "a state belongs to an existing session")
  db.exec("DELETE FROM sessions WHERE id = ?", session)
  t.eq(db.value("SELECT count(*) FROM form_states"), 0, "signing out (the session row going) drops its states")
end
