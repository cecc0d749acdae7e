-- A full disk: SQLite cannot grow the database (here: PRAGMA max_page_count at the current size,
-- every free page used up). A change that needs room answers 507 with the code disk_full, or
-- an error page that says so, saves nothing, and the log says why.
local t = require "testing"
local demo = require "demo"
local core_db = require "core.db"
local log = require "core.log"

t.demo()

local BIG = ("The review cycle starts today. "):rep(600) -- ~18,000 characters: new pages needed
local TEMPLATE = "review.invite"

-- Uses up every page the database may have.
local function fill_the_disk()
  assert(core_db.script("CREATE TABLE filler(x BLOB)"))
  assert(core_db.script("PRAGMA max_page_count = " .. core_db.value("PRAGMA page_count")))
  for _, size in ipairs({ 4000, 1000, 200, 20, 1 }) do
    while true do
      local n, err = core_db.exec("INSERT INTO filler VALUES (zeroblob(?))", size)
      if not n then
        t.eq(err.code, "disk_full")
        break
      end
    end
  end
end

local function free_the_disk()
  assert(core_db.script("DROP TABLE filler; PRAGMA max_page_count = 1073741823"))
end

-- Runs fn with log.error captured; returns the lines.
local function errors_logged(fn)
  local lines, original = {}, log.error
  log.error = function(msg) lines[#lines + 1] = msg end
  local ok, err = pcall(fn)
  log.error = original
  if not ok then error(err, 0) end
  return lines
end

local function template_text(c) return t.status(c:get("/api/email-templates/" .. TEMPLATE), 200).json.text end
local function audit_count() return core_db.value("SELECT count(*) FROM audit_log") end

t.test("a change the disk has no room for answers 507 disk_full, saves nothing and is logged", function()
  local tech = t.login(demo.email("marcus")) -- HR Admin: edits email templates
  local before, audits = template_text(tech), audit_count()
  local res
  fill_the_disk()
  local lines = errors_logged(function()
    res = tech:put("/api/email-templates/" .. TEMPLATE, { subject = "Your review", text = BIG })
  end)
  free_the_disk()
  t.status(res, 507)
  t.eq(res.json.error.code, "disk_full")
  t.match(res.json.error.message, "disk is full")
  t.eq(template_text(tech), before, "nothing was saved")
  t.eq(audit_count(), audits, "not even the audit entry")
  t.eq(#lines, 1)
  t.match(lines[1], "disk is full")
  -- with room again, the same change works
  t.status(tech:put("/api/email-templates/" .. TEMPLATE, { subject = "Your review", text = BIG }), 200)
  t.eq(template_text(tech), BIG)
end)

t.test("in a browser the page says the server's disk is full", function()
  local tech = t.login(demo.email("marcus"))
  local before = template_text(tech)
  local res
  fill_the_disk()
  errors_logged(function()
    res = tech:form("/admin/email-templates/" .. TEMPLATE, { subject = "Your review", text = BIG .. " (again)" })
  end)
  free_the_disk()
  t.status(res, 507)
  t.match(res.headers["content-type"], "^text/html")
  t.contains(res.body, "disk is full")
  t.eq(template_text(tech), before)
end)

t.test("reading still works on a full disk", function()
  local tech = t.login(demo.email("marcus"))
  fill_the_disk()
  local res = tech:get("/api/email-templates/" .. TEMPLATE)
  free_the_disk()
  t.status(res, 200)
end)
