-- What the in-process benchmarks share (dofile("bench/company.lua")): a generated company of n
-- people in a tree 6 levels deep with an HR Admin (and Tech Admin) at the top, its HR Admin as
-- a signed-in user, timing, and the median server time of a page.
local db = require "lib.db"
local clock = require "core.clock"
local util = require "lib.util"
local app = require "app"

local M = {}

M.now = clock.now()

--- "YYYY-MM-DD" n days from now.
function M.day(n) return util.format_date(M.now + n * 86400) end

--- Milliseconds fn takes.
function M.ms(fn)
  local t0 = clock.mono_ms()
  fn()
  return clock.mono_ms() - t0
end

--- Runs fn and measures how long it holds the event loop: the longest stretch of work without
--- letting the loop serve others (a pause is core.timer.sleep or yield; a transaction never pauses), and
--- the longest top-level transaction, in milliseconds (to the microsecond). Checkpoints run off
--- the loop, as when serving. Returns { hold_ms, where, tx_ms, pauses, transactions, total_ms }
--- (where: the stack at the end of the longest stretch).
function M.holds(fn)
  local timer = require "core.timer"
  local core = require "core.db"
  require("core.host").offload_checkpoints()
  local function ms(us) return math.floor(us / 10 + 0.5) / 100 end
  local sleep, yield, begin, commit, rollback = timer.sleep, timer.yield, core.begin, core.commit, core.rollback
  local r = { hold_ms = 0, tx_ms = 0, pauses = 0, transactions = 0 }
  local since, tx0 = clock.mono_us(), nil
  local function pause(f)
    return function(...)
      local held = ms(clock.mono_us() - since)
      if held > r.hold_ms then -- where the longest stretch ended (outside what is measured)
        r.hold_ms, r.where = held, debug.traceback("", 2):gsub("\n%s*", " < "):gsub("%[C%][^<]*< ", "")
      end
      local res = table.pack(f(...))
      r.pauses = r.pauses + 1
      since = clock.mono_us()
      return table.unpack(res, 1, res.n)
    end
  end
  timer.sleep, timer.yield = pause(sleep), pause(yield)
  core.begin = function(...)
    if core.depth() == 0 then tx0 = clock.mono_us() end
    return begin(...)
  end
  local function ended(f)
    return function(...)
      local res = table.pack(f(...))
      if core.depth() == 0 and tx0 then
        r.tx_ms, r.transactions, tx0 = math.max(r.tx_ms, ms(clock.mono_us() - tx0)), r.transactions + 1, nil
      end
      return table.unpack(res, 1, res.n)
    end
  end
  core.commit, core.rollback = ended(commit), ended(rollback)
  local t0 = clock.mono_us()
  local ok, err = pcall(fn)
  r.total_ms = ms(clock.mono_us() - t0)
  r.hold_ms = math.max(r.hold_ms, ms(clock.mono_us() - since))
  timer.sleep, timer.yield, core.begin, core.commit, core.rollback = sleep, yield, begin, commit, rollback
  if not ok then error(err, 0) end
  return r
end

--- Makes the company of n people unless the database has them already; returns the HR Admin
--- (person00001) and every employee's id in order.
function M.company(n)
  db.transaction(function()
    if db.value("SELECT count(*) FROM users") >= n then return end
    local ids = {}
    for i = 1, n do
      local manager = i > 1 and ids[math.max(1, (i - 2) // 8 + 1)] or nil
      ids[i] = db.insert([[INSERT INTO users(email, name, job_title, department, location, hire_date, manager_id,
          status, kind, created_at, updated_at) VALUES(?,?,?,?,?,?,?, 'active', 'employee', ?, ?)]],
        ("person%05d@bench.example"):format(i), ("Person %05d"):format(i), "Engineer",
        ({ "Engineering", "Sales", "Product", "Operations", "People" })[i % 5 + 1],
        ({ "Berlin", "London", "New York", "Remote" })[i % 4 + 1], ("20%02d-%02d-01"):format(10 + i % 15, i % 12 + 1),
        manager, M.now, M.now)
    end
    db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', ?), (?, 'tech_admin', ?)",
      ids[1], M.now, ids[1], M.now)
  end)
  require("services.access").reload()
  local hr = require("services.sessions").load_user(db.value("SELECT id FROM users WHERE email = 'person00001@bench.example'"))
  return hr, db.column("SELECT id FROM users WHERE kind = 'employee' ORDER BY id")
end

--- The median server time (ms) of GET path over runs requests with an API token of user;
--- returns it and the token.
function M.page_median(path, user, runs)
  local token = db.transaction(function() return require("services.api_tokens").create(user, "bench") end)
  local times = {}
  for i = 1, runs or 25 do
    local req = { method = "GET", path = path, query = "", body = "", peer = "127.0.0.1",
      headers = { host = "127.0.0.1", accept = "text/html", authorization = "Bearer " .. token } }
    local t0 = clock.mono_ms()
    local status = app.handle(req)
    times[i] = clock.mono_ms() - t0
    assert(status == 200, path .. " answered " .. tostring(status))
  end
  table.sort(times)
  return times[(#times + 1) // 2], token
end

return M
