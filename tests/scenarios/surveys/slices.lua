-- A round of a big survey opens without holding the event loop: the round is made in one
-- transaction and its participants are invited a slice at a time (surveys.INVITE_PAGE per
-- statement, surveys.SLICE_MS per transaction); the last slice moves the survey on and fires the
-- round's events once. A run cut short goes on with the round it made. The invitation mails are
-- queued from pages of recipients (survey_timeline.PAGE). Virtual clock: Monday 5 January 2026.
local t = require "testing"
local db = require "lib.db"
local surveys = require "services.surveys"
local timeline = require "services.survey_timeline"
local events = require "lib.events"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local everyone = db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status = 'active'")

-- Sets the slicing small for fn (every statement a few people, every slice one statement).
local function small(fn)
  local page, slice, mail_page = surveys.INVITE_PAGE, surveys.SLICE_MS, timeline.PAGE
  surveys.INVITE_PAGE, surveys.SLICE_MS, timeline.PAGE = 4, 0, 3
  local ok, err = pcall(fn)
  surveys.INVITE_PAGE, surveys.SLICE_MS, timeline.PAGE = page, slice, mail_page
  if not ok then error(err, 0) end
end

local function opened_events(fn)
  local seen = {}
  local function note(e) seen[#seen + 1] = e end
  events.hook("survey_round.opened", note)
  local ok, err = pcall(fn)
  events.unhook("survey_round.opened", note)
  if not ok then error(err, 0) end
  return seen
end

t.test("the round's invitations are written a slice at a time; the events fire once, at the end", function()
  local s = H.create("marcus", { title = "Everyone, sliced", participants = "everyone", starts_on = "2026-01-06" })
  t.status(H.as("marcus"):post("/api/surveys/" .. s.id .. "/launch"), 200)
  local invited_after = {}
  local seen
  small(function()
    seen = opened_events(function()
      t.each_commit(function() t.advance_to("2026-01-06T09:00:00Z") end, function()
        invited_after[#invited_after + 1] = db.value("SELECT count(*) FROM survey_invitations")
      end)
    end)
  end)
  local rid = db.value("SELECT id FROM survey_rounds WHERE survey_id = ?", s.id)
  t.eq(db.value("SELECT count(*) FROM survey_invitations WHERE round_id = ?", rid), everyone, "everyone is invited")
  local growing = 0
  for i = 2, #invited_after do
    if invited_after[i] > invited_after[i - 1] then growing = growing + 1 end
  end
  t.ok(growing >= everyone // 4 - 1, ("the invitations came in %d transactions at least"):format(growing))
  t.eq(#seen, 1, "survey_round.opened fired once")
  t.eq(seen[1].invited, everyone, "with everyone counted")
  t.eq(#t.outbox({ template = "survey.invite" }), everyone, "one invitation mail each, read a page at a time")
  t.eq(db.value("SELECT phase FROM surveys WHERE id = ?", s.id), "running", "the survey moved on")
  t.ok(db.value("SELECT next_opens_on FROM surveys WHERE id = ?", s.id) ~= "2026-01-06", "its next round is not this one")
end)

t.test("an opening cut short goes on with the round it made, inviting nobody twice", function()
  local s = H.create("marcus", { title = "Everyone, cut", participants = "everyone", starts_on = "2026-01-06" })
  t.status(H.as("marcus"):post("/api/surveys/" .. s.id .. "/launch"), 200)
  local day = db.value("SELECT next_opens_on FROM surveys WHERE id = ?", s.id)
  -- the first run dies after its second slice committed ("the server died")
  small(function()
    local n = 0
    local ok = pcall(t.each_commit, function() surveys.open_round(s.id, day) end, function()
      n = n + 1
      if n == 3 then error("died", 0) end
    end)
    t.eq(ok, false)
  end)
  local rid = db.value("SELECT id FROM survey_rounds WHERE survey_id = ?", s.id)
  local part = db.value("SELECT count(*) FROM survey_invitations WHERE round_id = ?", rid)
  t.ok(part > 0 and part < everyone, ("part of them invited (%d of %d)"):format(part, everyone))
  t.eq(db.value("SELECT next_opens_on FROM surveys WHERE id = ?", s.id), day, "the survey did not move on")
  local seen = opened_events(function()
    small(function() t.ok(surveys.open_round(s.id, day), "the run again opens the same round") end)
  end)
  t.eq(db.value("SELECT count(*) FROM survey_rounds WHERE survey_id = ?", s.id), 1, "one round")
  t.eq(db.value("SELECT count(*) FROM survey_invitations WHERE round_id = ?", rid), everyone, "everyone, once")
  t.eq(#seen, 1)
  t.eq(surveys.open_round(s.id, day), nil, "done: a third run does nothing")
end)

t.test("each page of recipients and participants is a range of an index, never a sort of the whole round", function()
  local seen, real = {}, db.query
  db.query = function(sql, ...)
    if sql:find("LIMIT", 1, true) and (sql:find("survey_invitations", 1, true) or sql:find("FROM users u, surveys s", 1, true)) then
      seen[#seen + 1] = { sql = sql, args = table.pack(...) }
    end
    return real(sql, ...)
  end
  local column = db.column
  db.column = function(sql, ...)
    if sql:find("LIMIT", 1, true) and sql:find("surveys s", 1, true) then seen[#seen + 1] = { sql = sql, args = table.pack(...) } end
    return column(sql, ...)
  end
  local ok, err = pcall(function()
    local s = H.create("marcus", { title = "Everyone, planned", participants = "everyone", starts_on = "2026-01-07" })
    t.status(H.as("marcus"):post("/api/surveys/" .. s.id .. "/launch"), 200)
    t.advance_to("2026-01-07T09:00:00Z")
  end)
  db.query, db.column = real, column
  assert(ok, err)
  t.ok(#seen >= 2, "the opening's and the mails' page queries ran")
  for _, q in ipairs(seen) do
    local rows = db.query("EXPLAIN QUERY PLAN " .. q.sql, table.unpack(q.args, 1, q.args.n))
    local plan = {}
    for _, r in ipairs(rows) do
      if not r.detail:find("json_each", 1, true) then plan[#plan + 1] = r.detail end -- the list given
    end
    plan = table.concat(plan, "\n")
    t.not_contains(plan, "TEMP B-TREE", q.sql)
    t.not_contains(plan, "SCAN", q.sql:sub(1, 60))
  end
end)
