-- Upgrading a data folder made by the version before 030, which kept the reasons HR typed in
-- plain text (tests/migrations/fixtures/029.sql): starting the new version (the migrations, then
-- services/reasons.lua seal_stored as app.init runs it) leaves the words in neither the database
-- file nor its WAL nor a backup, and the audit log still shows them.
local t = require "testing"
local app = require "app"
local core_db = require "core.db"
local crypto = require "core.crypto"
local db = require "lib.db"
local json = require "lib.json"
local reasons = require "services.reasons"
local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "canary_lib.lua")

local here = debug.getinfo(1, "S").source:match("^@(.*/)")
local FIXTURE = here .. "../../migrations/fixtures/029.sql"

-- the words as 029.sql holds them (typed reasons), and a non-confidential control
local TYPED = {
  "Signed by mistake – Diego’s goals were missing",
  'Sam asked to add the \\"Q1\\" launch', -- as the JSON text in the file holds it
  "Reported as abusive: the praise insulted the team",
}
local CONTROL = "Head of People" -- a job title

local dir

t.test("a version-029 data folder holds the reasons in plain text (the search looks in the right place)", function()
  local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/candor-security.XXXXXX\"")
  dir = p:read("l")
  p:close()
  assert(crypto.load_keys(dir .. "/master.key", true))
  assert(core_db.open(dir .. "/candor.db"))
  assert(core_db.migrate(app.app_dir .. "/migrations", 29))
  assert(core_db.script(canary.read(FIXTURE)))
  assert(core_db.checkpoint())
  local file = canary.read(dir .. "/candor.db")
  t.ok(file:find(CONTROL, 1, true), "the control is in the file")
  for _, w in ipairs(TYPED) do t.ok(file:find(w, 1, true), "before: " .. w) end
end)

t.test("after starting the new version the words are in no file, and the audit log shows them", function()
  assert(core_db.migrate(app.app_dir .. "/migrations"))
  t.eq(reasons.seal_stored(), 5, "what app.init runs after the migrations")
  local files = { db = canary.read(dir .. "/candor.db"), wal = canary.read(dir .. "/candor.db-wal") }
  local backup = dir .. "/backup.db"
  assert(core_db.backup(backup))
  files.backup = canary.read(backup)
  t.ok(files.db:find(CONTROL, 1, true), "the control is still in the file")
  for name, bytes in pairs(files) do
    for _, w in ipairs(TYPED) do t.no(bytes:find(w, 1, true), ("%s holds %q"):format(name, w)) end
  end
  -- still read through the service
  local d = json.decode(db.value("SELECT details FROM audit_log WHERE id = 12"))
  t.eq(reasons.open(d.reason_id), "Reported as abusive: the praise insulted the team")
  t.ok(require("services.audit").verify(), "the audit chain verifies")
  t.eq(reasons.seal_stored(), nil, "a second start does nothing")
end)

t.test("an audit entry edited behind the app's back, after one sealed, stays the break verify names", function()
  local audit = require "services.audit"
  audit.record{ action = "review.reopen", actor_label = "system", target_type = "review", target_id = 1,
    details = { reason = "words an earlier version kept in the entry", part = "manager" } } -- as before 030
  local before = audit.record{ action = "setting.update", actor_label = "system", details = { to = "x" } }
  audit.record{ action = "setting.update", actor_label = "system", details = { to = "y" } }
  local id = db.value("SELECT id FROM audit_log WHERE hash = ?", before.hash)
  db.transaction(function() -- an edit behind the app's back
    local trigger = db.value("SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_update'")
    db.exec("DROP TRIGGER audit_log_no_update")
    db.exec([[UPDATE audit_log SET details = '{"to":"forged"}' WHERE id = ?]], id)
    db.exec(trigger)
  end)
  local ok, _, broken = audit.verify()
  t.no(ok)
  t.eq(broken.id, id)
  db.exec("INSERT INTO reasons_to_seal(id) VALUES (1)")
  t.eq(reasons.seal_stored(), 1)
  ok, _, broken = audit.verify()
  t.no(ok, "sealing does not mend the chain")
  t.eq(broken.id, id, "the same entry is named")
  t.eq(json.decode(db.value("SELECT details FROM audit_log ORDER BY id DESC LIMIT 1")).chain_broken_before_at, id,
    "the sealing entry says the chain was broken")
  t.no(canary.read(dir .. "/candor.db"):find("words an earlier version", 1, true), "not in the file")
end)

t.test("clean up", function() canary.cleanup(dir) end)
