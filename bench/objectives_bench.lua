-- candor run --data DIR bench/objectives_bench.lua: the alignment tree of an objective cycle of
-- a 10,000-person company with 30,000 objectives (10 company objectives, 1,000 team objectives of
-- managers aligned to them, 28,990 individual ones aligned to those; 60% public, 30% protected,
-- 10% private, some people named), measured in-process as the page `GET
-- /objective-cycles/ID/tree`, server time, median of 25:
--   employee_ms   as an employee at the bottom of the chart (sees public objectives, their own
--                 and their managers'... as the evaluator decides, node by node)
--   hr_ms         as an HR Admin at the top (sees everything but private objectives)
-- Output lines are "key value" for bench_objectives.sh.
local db = require "lib.db"
local clock = require "core.clock"
local crypt = require "lib.crypt"
local util = require "lib.util"
local app = require "app"
require "services.objectives" -- registers the sealed columns

local N, OBJECTIVES = 10000, 30000
local now = clock.now()
local function day(n) return util.format_date(now + n * 86400) end

local function ms(fn)
  local t0 = clock.mono_ms()
  fn()
  return clock.mono_ms() - t0
end

-- the company: a tree 6 levels deep (8 reports each), an HR Admin at the top
local setup_ms = ms(function()
  db.transaction(function()
    if db.value("SELECT count(*) FROM users") >= N then return end
    local ids = {}
    for i = 1, N do
      local manager = i > 1 and ids[math.max(1, (i - 2) // 8 + 1)] or nil
      ids[i] = db.insert([[INSERT INTO users(email, name, job_title, department, location, manager_id, status, kind,
          created_at, updated_at) VALUES(?,?,?,?,?,?, 'active', 'employee', ?, ?)]],
        ("person%05d@bench.example"):format(i), ("Person %05d"):format(i), "Engineer",
        ({ "Engineering", "Sales", "Product", "Operations", "People" })[i % 5 + 1], "Berlin", manager, now, now)
    end
    db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', ?), (?, 'tech_admin', ?)",
      ids[1], now, ids[1], now)
  end)
end)
require("services.access").reload()

local cycle = db.value("SELECT id FROM objective_cycles WHERE name = 'Bench 30k'")
local fill_ms = ms(function()
  if cycle then return end
  db.transaction(function()
    cycle = db.insert([[INSERT INTO objective_cycles(name, starts_on, ends_on, edit_until, update_until, created_at,
      updated_at) VALUES('Bench 30k', ?, ?, ?, ?, ?, ?)]], day(-10), day(170), day(20), day(190), now, now)
    local vis = { "public", "public", "public", "public", "public", "public", "protected", "protected", "protected", "private" }
    local function add(owner, level, parent, i)
      local id = db.insert([[INSERT INTO objectives(cycle_id, owner_id, level, parent_id, visibility, title_enc, status,
          progress, due_on, created_at, updated_at) VALUES(?, ?, ?, ?, ?, x'', ?, ?, ?, ?, ?)]],
        cycle, owner, level, parent, vis[i % 10 + 1], ({ "on_track", "at_risk", "off_track", "done" })[i % 4 + 1],
        (i * 37) % 101, day(170), now, now)
      db.exec("UPDATE objectives SET title_enc = ? WHERE id = ?",
        crypt.seal("objectives", "title_enc", { id }, ("Objective %d of person %d"):format(i, owner)), id)
      if i % 7 == 0 then
        db.exec("INSERT INTO objective_shares(objective_id, user_id, added_at) VALUES(?, ?, ?)", id, (i * 13) % N + 1, now)
      end
      return id
    end
    local companies, teams = {}, {}
    for i = 1, 10 do companies[i] = add(1, "company", nil, i * 10) end -- public
    -- team objectives of managers (people 1..1250 have reports)
    for i = 1, 1000 do teams[i] = add((i % 1249) + 2, "team", companies[i % 10 + 1], i) end
    for i = 1, OBJECTIVES - 1010 do add((i * 7919) % N + 1, "individual", teams[i % 1000 + 1], i) end
  end)
end)
io.stderr:write(("setup %d ms, %d objectives in %d ms\n"):format(setup_ms,
  db.value("SELECT count(*) FROM objectives"), fill_ms))

local sessions = require "services.sessions"
local api_tokens = require "services.api_tokens"
local function token_of(email)
  local u = sessions.load_user(db.value("SELECT id FROM users WHERE email = ?", email))
  return db.transaction(function() return api_tokens.create(u, "bench") end)
end

local function median(token)
  local times = {}
  local status
  for i = 1, 25 do
    local req = { method = "GET", path = "/objective-cycles/" .. cycle .. "/tree", query = "", body = "", peer = "127.0.0.1",
      headers = { host = "127.0.0.1", accept = "text/html", authorization = "Bearer " .. token } }
    local t0 = clock.mono_ms()
    status = app.handle(req)
    times[i] = clock.mono_ms() - t0
    assert(status == 200, "the tree answered " .. tostring(status))
  end
  table.sort(times)
  return times[13]
end

-- a person at the bottom of the chart, and the HR Admin at the top
print("employee_ms", median(token_of("person09999@bench.example")))
print("hr_ms", median(token_of("person00001@bench.example")))
print("cycle", cycle)
