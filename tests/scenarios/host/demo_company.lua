-- The demo company: big enough to look around, documented in docs/demo.md.
local t = require "testing"
local db = require "lib.db"
local demo = require "demo"
local fs = require "core.fs"

t.test("the demo company has at least 40 people in at least 4 levels", function()
  t.demo()
  t.ok(db.value("SELECT count(*) FROM users WHERE kind = 'employee'") >= 40)
  local depth = db.value([[
    WITH RECURSIVE chain(id, depth) AS (
      SELECT id, 1 FROM users WHERE manager_id IS NULL AND kind = 'employee'
      UNION ALL SELECT u.id, c.depth + 1 FROM users u JOIN chain c ON u.manager_id = c.id)
    SELECT max(depth) FROM chain]])
  t.ok(depth >= 4, "reporting levels: " .. tostring(depth))
  t.ok(db.value("SELECT count(DISTINCT department) FROM users WHERE kind = 'employee'") >= 4)
  t.ok(db.value("SELECT count(DISTINCT location) FROM users WHERE kind = 'employee'") >= 3)
end)

t.test("someone holds each role and exactly one person is a super user", function()
  for _, role in ipairs({ "hr_admin", "hr_assistant", "tech_admin" }) do
    t.ok(db.value("SELECT count(*) FROM user_roles WHERE role = ?", role) >= 1, role)
  end
  local supers = db.column([[SELECT u.email FROM users u
    WHERE EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = 'hr_admin')
      AND EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = 'tech_admin')]])
  t.same(supers, { demo.super_user_email() })
end)

t.test("everyone shares the demo password", function()
  local crypto = require "core.crypto"
  local hashes = db.column("SELECT DISTINCT password_hash FROM users")
  t.eq(#hashes, 1)
  t.ok(crypto.verify_password(hashes[1], t.DEMO_PASSWORD))
  t.no(crypto.verify_password(hashes[1], "not-the-password"))
end)

t.test("docs/demo.md lists the demo people as lua/demo.lua defines them", function()
  local doc = assert(fs.read("docs/demo.md"), "docs/demo.md is missing")
  t.eq(doc, demo.markdown(), "docs/demo.md is out of date: run `make docs`")
  for _, p in ipairs(demo.PEOPLE) do t.contains(doc, demo.email(p[1])) end
end)

t.test("without CANDOR_DEMO_PASSWORD the demo gets a generated password that works and is kept", function()
  -- a fresh database: the file's demo data is replaced
  require("core.db").open(":memory:")
  assert(require("core.db").migrate(require("app").app_dir .. "/migrations"))
  require("services.settings").reset_cache()
  local note = demo.fill(nil)
  local pw = note:match("Password %(everyone shares it%): (%S+)")
  t.ok(pw and #pw >= 16, "a generated password is printed: " .. tostring(pw))
  t.ok(t.login(demo.super_user_email(), pw))
end)
