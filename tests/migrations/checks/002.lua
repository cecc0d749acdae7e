-- Migration 002 (people, reporting lines, roles) on a version-001 database: the new tables
-- start empty and hold the rules the application relies on. Runs after the generic checks
-- (tests/scenarios/schema/migrations.lua); may change the database freely.
return function(db, t, info)
  t.eq(info.version, 2)
  t.eq(db.value("SELECT count(*) FROM users"), 0, "no people yet")
  t.eq(db.value("SELECT count(*) FROM user_roles"), 0, "no roles yet")
  -- the host's data from version 001 is untouched (the generic checks compare every value)
  t.eq(db.value("SELECT count(*) FROM settings"), info.before.settings.count)

  local now = 1762337700
  local ceo = db.insert([[INSERT INTO users(email, name, created_at, updated_at)
    VALUES('ceo@northwind.example', 'Priya Natarajan', ?, ?)]], now, now)
  local eng = db.insert([[INSERT INTO users(email, name, manager_id, created_at, updated_at)
    VALUES('eng@northwind.example', 'Marcus Okafor', ?, ?, ?)]], ceo, now, now)
  t.eq(db.value("SELECT status || '/' || kind FROM users WHERE id = ?", eng), "active/employee", "defaults")

  -- emails are unique whatever their case
  local n, err = db.try_exec([[INSERT INTO users(email, name, created_at, updated_at)
    VALUES('CEO@Northwind.example', 'Someone Else', ?, ?)]], now, now)
  t.eq(n, nil, "a second account with the same email in other case")
  t.eq(err.code, "constraint")

  -- nobody manages themselves, and statuses and kinds are from the known lists
  n = db.try_exec("UPDATE users SET manager_id = id WHERE id = ?", ceo)
  t.eq(n, nil, "a person as their own manager")
  n = db.try_exec("UPDATE users SET status = 'retired' WHERE id = ?", ceo)
  t.eq(n, nil, "an unknown status")
  n = db.try_exec("UPDATE users SET manager_id = 999 WHERE id = ?", eng)
  t.eq(n, nil, "a manager who does not exist")

  -- roles add up, once each, from the known list
  db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', ?)", ceo, now)
  db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'tech_admin', ?)", ceo, now)
  n = db.try_exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', ?)", ceo, now)
  t.eq(n, nil, "the same role twice")
  n = db.try_exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'owner', ?)", ceo, now)
  t.eq(n, nil, "an unknown role")

  -- removing a person frees their reports and drops their roles
  db.exec("DELETE FROM users WHERE id = ?", ceo)
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", eng), nil, "reports lose their manager")
  t.eq(db.value("SELECT count(*) FROM user_roles WHERE user_id = ?", ceo), 0, "roles go with the person")
end
