-- In-process timing of pages on a company bench/scale_company.lua filled (bench/README.md, "Big
-- companies"):
--
--   candor run --data DIR bench/scale_measure.lua EMAIL RUNS PATH...
--
-- signs EMAIL in with an API token and requests each PATH RUNS times through app.handle (after one
-- warm-up request), timing every statement through lib/db. Prints per path the median server time
-- (ms), the statements per request and the answer's size, then the five statements that took
-- longest in all (ms per request, count per request, the SQL's first line) to stderr.
local db = require "lib.db"
local clock = require "core.clock"
local app = require "app"

local email, runs = ...
runs = math.tointeger(tonumber(runs)) or 10
local paths = table.pack(select(3, ...))

local user = require("services.sessions").load_user(assert(db.value("SELECT id FROM users WHERE email = ?", email),
  "no such person"))
local token = db.transaction(function() return require("services.api_tokens").create(user, "measure") end)

local stats, count
for _, name in ipairs({ "query", "row", "value", "column", "columns", "exec", "insert" }) do
  local fn = db[name]
  db[name] = function(sql, ...)
    local t0 = clock.mono_us()
    local res = table.pack(fn(sql, ...))
    if stats then
      local s = stats[sql] or { us = 0, n = 0 }
      stats[sql], s.us, s.n, count = s, s.us + clock.mono_us() - t0, s.n + 1, count + 1
    end
    return table.unpack(res, 1, res.n)
  end
end

local function get(path)
  local p, q = path:match("^([^?]*)%??(.*)$")
  local req = { method = "GET", path = p, query = q, body = "", peer = "127.0.0.1",
    headers = { host = "127.0.0.1", accept = "text/html", authorization = "Bearer " .. token } }
  local status, _, body = app.handle(req)
  assert(status == 200, path .. " answered " .. tostring(status))
  return type(body) == "string" and #body or 0
end

for i = 1, paths.n do
  local path = paths[i]
  get(path)
  stats, count = {}, 0
  local times, size = {}, 0
  for r = 1, runs do
    local t0 = clock.mono_us()
    size = get(path)
    times[r] = (clock.mono_us() - t0) / 1000
  end
  table.sort(times)
  local statements = count / runs
  print(("%-40s %8.2f ms %6.1f statements %7d bytes"):format(path, times[(runs + 1) // 2], statements, size))
  local list = {}
  for sql, s in pairs(stats) do list[#list + 1] = { sql = sql, us = s.us, n = s.n } end
  table.sort(list, function(a, b) return a.us > b.us end)
  for k = 1, math.min(5, #list) do
    local s = list[k]
    io.stderr:write(("    %7.2f ms %5.1fx  %s\n"):format(s.us / 1000 / runs, s.n / runs,
      (s.sql:gsub("%s+", " ")):sub(1, 150)))
  end
  stats = nil
end
