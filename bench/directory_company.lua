-- The directory benchmark's helper, run by bench/bench_directory.sh through `candor run`:
--
--   candor run --data DIR bench/directory_company.lua setup N
--     fills an empty data folder with a generated company of N people (direct SQL inserts in
--     one transaction: reporting lines eight wide and several levels deep, departments,
--     locations, a few roles) and prints an API token of its HR Admin on the last line.
--   candor run --data DIR bench/directory_company.lua time CALLS TOKEN
--     times CALLS requests for a directory page of 50 (GET /api/users?per_page=50&page=P over
--     the pages) handled in-process by the application (token check, router, permission,
--     directory search, JSON), and the directory service alone; prints
--     "page_ms=MEDIAN service_ms=MEDIAN" (CPU time per call, milliseconds).
local db = require "lib.db"
local clock = require "core.clock"

local mode = ...
local args = { select(2, ...) }

local FIRST = { "Ada", "Ben", "Chloe", "David", "Elena", "Farah", "Goran", "Hana", "Ivan", "Julia", "Kofi", "Lena",
  "Mateo", "Nina", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yusuf", "Zoe" }
local LAST = { "Adams", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
  "Kowalski", "Larsen", "Moreau", "Nowak", "Okafor", "Patel", "Quist", "Rossi", "Sato", "Tanaka", "Uddin", "Varga" }
local DEPTS = { "Engineering", "Sales", "Marketing", "Finance", "Operations", "People", "Product", "Support",
  "Legal", "Design", "Data", "Security" }
local PLACES = { "Berlin", "London", "New York", "Remote", "Lisbon", "Toronto", "Singapore", "Sydney" }
local TITLES = { "Engineer", "Senior Engineer", "Analyst", "Manager", "Specialist", "Coordinator", "Designer",
  "Account Executive", "Consultant", "Director" }

local function setup(n)
  assert(n and n >= 10, "setup needs the number of people (at least 10)")
  assert(db.value("SELECT count(*) FROM users") == 0, "the data folder already has people")
  local now = clock.now()
  local token
  db.transaction(function()
    -- person i (ids 1..n in order) reports to person (i - 2) // 8 + 1: eight wide, so about
    -- five levels for 10,000 people; every manager is inserted before their reports
    for i = 1, n do
      local first, last = FIRST[i % #FIRST + 1], LAST[(i * 7) % #LAST + 1]
      local status = (i % 97 == 0) and "deactivated" or ((i % 31 == 0) and "invited" or "active")
      db.exec([[INSERT INTO users(id, email, name, job_title, department, location, hire_date, manager_id, status,
          kind, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?, 'employee', ?, ?)]],
        i, ("%s.%s.%d@bench.example"):format(first:lower(), last:lower(), i), first .. " " .. last .. " " .. i,
        TITLES[i % #TITLES + 1], DEPTS[(i // 8) % #DEPTS + 1], PLACES[i % #PLACES + 1],
        ("%04d-%02d-%02d"):format(2010 + i % 15, i % 12 + 1, i % 28 + 1), i > 1 and (i - 2) // 8 + 1 or nil,
        i == 2 and "active" or status, now, now)
    end
    -- person 2 is the HR Admin the benchmark reads as; a few others hold roles too
    local grants = { { 2, "hr_admin" }, { 2, "tech_admin" }, { 3, "hr_admin" }, { 4, "hr_assistant" },
      { 5, "tech_admin" } }
    for _, g in ipairs(grants) do
      db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?,?,?)", g[1], g[2], now)
    end
    local hr = db.row("SELECT * FROM users WHERE id = 2")
    token = require("services.api_tokens").create(hr, "directory benchmark")
  end)
  require("services.access").reload()
  local depth = db.value([[WITH RECURSIVE chain(id, d) AS (SELECT id, 1 FROM users WHERE manager_id IS NULL
      UNION ALL SELECT u.id, c.d + 1 FROM users u JOIN chain c ON u.manager_id = c.id) SELECT max(d) FROM chain]])
  io.stderr:write(("directory bench: %d people, %d levels of reporting lines\n"):format(n, depth))
  io.stdout:write(token, "\n")
end

local function median(list)
  table.sort(list)
  local m = #list
  if m % 2 == 1 then return list[(m + 1) // 2] end
  return (list[m // 2] + list[m // 2 + 1]) / 2
end

local function time(calls, token)
  assert(calls and calls > 0 and token, "time needs CALLS and TOKEN")
  local app = require "app"
  local directory = require "services.directory"
  local n = db.value("SELECT count(*) FROM users")
  local pages = math.max(1, n // 50)
  local viewer = db.row("SELECT * FROM users WHERE id = 2")
  local page_ms, service_ms = {}, {}
  local wall0 = clock.mono_ms()
  for i = 1, calls do
    local p = (i * 37) % pages + 1
    local req = { method = "GET", path = "/api/users", query = "per_page=50&page=" .. p, body = "",
      peer = "127.0.0.1", headers = { host = "127.0.0.1", accept = "application/json",
        authorization = "Bearer " .. token } }
    local c0 = os.clock()
    local status = app.handle(req)
    page_ms[i] = (os.clock() - c0) * 1000
    assert(status == 200, "the directory page answered " .. tostring(status))
    c0 = os.clock()
    local res = directory.search(viewer, { per_page = 50, page = p })
    service_ms[i] = (os.clock() - c0) * 1000
    assert(#res.users == 50 or p == pages, "a page of 50")
  end
  io.stderr:write(("directory bench: %d pages in %d ms wall time (both measurements)\n"):format(calls,
    clock.mono_ms() - wall0))
  io.stdout:write(("page_ms=%.2f service_ms=%.2f\n"):format(median(page_ms), median(service_ms)))
end

if mode == "setup" then
  setup(tonumber(args[1]))
elseif mode == "time" then
  time(tonumber(args[1]), args[2])
else
  io.stderr:write("usage: candor run --data DIR bench/directory_company.lua setup N | time CALLS TOKEN\n")
  return 2
end
return 0
