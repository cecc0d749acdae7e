-- The scenario harness. `candor test tests/scenarios` runs each file in a fresh host: an
-- in-memory database with every migration applied, a random master key, cheap password
-- hashing, a virtual clock starting Monday 2026-01-05 09:00 UTC, and mail captured in the
-- outbox table. A scenario file registers tests and reads as a story:
--
--   local t = require "testing"
--   t.test("health check says ok", function()
--     local res = t.client():get("/healthz")
--     t.eq(res.status, 200)
--     t.eq(res.json.status, "ok")
--   end)
--
-- Tests in one file run in order and share the database (a story); files never share.
local app = require "app"
local json = require "lib.json"
local util = require "lib.util"
local web = require "lib.web"
local clock = require "core.clock"
local core_db = require "core.db"
local sched = require "core.sched"
local server = require "core.server"
local net = require "core.net"
local log = require "core.log"
local fs = require "core.fs"
local db = require "lib.db"
local events = require "lib.events"
local demo = require "demo"
local workflows = require "services.workflows"

local T = {}
local tests = {}
local current_file = "?"

--- Registers a test.
function T.test(name, fn)
  tests[#tests + 1] = { name = name, fn = fn }
end

-- Failures are tables so the runner can tell them from errors in the code under test.
local Failure = {}
Failure.__tostring = function(f) return f.message end

local function fail(msg, level)
  error(setmetatable({ message = msg }, Failure), (level or 1) + 2)
end

local function show(v)
  if type(v) == "string" then
    if #v > 400 then v = v:sub(1, 400) .. "…" end
    return ("%q"):format(v)
  end
  if type(v) == "table" then
    local ok, s = pcall(json.encode, v)
    if ok then return #s > 400 and s:sub(1, 400) .. "…" or s end
  end
  return tostring(v)
end

local function prefix(msg) return msg and (msg .. ": ") or "" end

function T.fail(msg) fail(msg or "failed") end

function T.ok(v, msg)
  if not v then fail(prefix(msg) .. "expected a true value, got " .. show(v)) end
  return v
end

function T.no(v, msg)
  if v then fail(prefix(msg) .. "expected a false value, got " .. show(v)) end
end

function T.eq(actual, expected, msg)
  if actual ~= expected then
    fail(prefix(msg) .. ("expected %s, got %s"):format(show(expected), show(actual)))
  end
end

function T.neq(actual, unexpected, msg)
  if actual == unexpected then fail(prefix(msg) .. "did not expect " .. show(actual)) end
end

local function deep_eq(a, b, path)
  if type(a) ~= type(b) then return false, path end
  if type(a) ~= "table" then
    if a ~= b then return false, path end
    return true
  end
  for k, v in pairs(a) do
    local ok, where = deep_eq(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, where end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) end
  end
  return true
end

--- Deep equality of tables.
function T.same(actual, expected, msg)
  local ok, where = deep_eq(actual, expected, "")
  if not ok then
    fail(prefix(msg) .. ("differs at %s: expected %s, got %s"):format(where == "" and "(top)" or where,
      show(expected), show(actual)))
  end
end

function T.match(s, pattern, msg)
  if type(s) ~= "string" or not s:match(pattern) then
    fail(prefix(msg) .. ("%s does not match %q"):format(show(s), pattern))
  end
end

function T.contains(haystack, needle, msg)
  if type(haystack) == "table" then
    for _, v in ipairs(haystack) do if v == needle then return end end
    fail(prefix(msg) .. ("%s is not in %s"):format(show(needle), show(haystack)))
  end
  if type(haystack) ~= "string" or not haystack:find(needle, 1, true) then
    fail(prefix(msg) .. ("%s not found in %s"):format(show(needle), show(haystack)))
  end
end

function T.not_contains(haystack, needle, msg)
  if type(haystack) == "table" then
    for _, v in ipairs(haystack) do
      if v == needle then fail(prefix(msg) .. ("%s should not be in the list"):format(show(needle))) end
    end
    return
  end
  if type(haystack) == "string" and haystack:find(needle, 1, true) then
    fail(prefix(msg) .. ("%s should not appear in %s"):format(show(needle), show(haystack)))
  end
end

--- Asserts that fn raises; code (optional) is matched against an application error's code
--- or the error text. Returns the error.
function T.raises(fn, code, msg)
  local ok, err = pcall(fn)
  if ok then fail(prefix(msg) .. "expected an error, none was raised") end
  if code then
    local got = type(err) == "table" and (err.code or err.message) or tostring(err)
    if type(err) == "table" and err.code ~= code and not tostring(err.message or ""):find(code, 1, true) then
      fail(prefix(msg) .. ("expected error %s, got %s"):format(code, show(got)))
    elseif type(err) ~= "table" and not tostring(err):find(code, 1, true) then
      fail(prefix(msg) .. ("expected error %s, got %s"):format(code, show(got)))
    end
  end
  return err
end

--- Asserts a response's status (shows the body when it differs).
function T.status(res, expected, msg)
  if res.status ~= expected then
    fail(prefix(msg) .. ("expected status %d, got %d: %s"):format(expected, res.status, show(res.body)))
  end
  return res
end

-- ---------------------------------------------------------------- responses
local Response = {}
Response.__index = function(r, k)
  if k == "json" then
    local v = json.decode(r.body)
    rawset(r, "json", v)
    return v
  end
  return Response[k]
end

local function lower_headers(h)
  local out = {}
  for k, v in pairs(h or {}) do out[k:lower()] = v end
  return out
end

-- ---------------------------------------------------------------- in-process client
local Client = {}
Client.__index = Client

T.HOST = "candor.test"

--- A client that calls the application in this process, with a cookie jar. Non-GET
--- requests carry Origin and the CSRF token it learnt (turn off with client.auto_csrf = false).
function T.client(opts)
  opts = opts or {}
  return setmetatable({ jar = {}, csrf = nil, auto_csrf = true, peer = opts.peer or "127.0.0.1",
    user_agent = opts.user_agent or "CandorTest/1.0", headers = opts.headers or {} }, Client)
end

local function store_cookies(jar, set_cookie)
  if not set_cookie then return end
  local list = type(set_cookie) == "table" and set_cookie or { set_cookie }
  for _, c in ipairs(list) do
    local name, value = c:match("^([^=]+)=([^;]*)")
    if name then
      if c:find("Max%-Age=0") or value == "" then jar[name] = nil else jar[name] = value end
    end
  end
end

function Client:cookie_header()
  local parts = {}
  local names = {}
  for k in pairs(self.jar) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do parts[#parts + 1] = k .. "=" .. self.jar[k] end
  return table.concat(parts, "; ")
end

-- Browsers ask for HTML; API clients for JSON.
local function p_accept(path)
  if path:sub(1, 5) == "/api/" or path:sub(1, 8) == "/healthz" then return "application/json" end
  return "text/html,application/xhtml+xml,*/*;q=0.8"
end

--- request(method, path, { body = string|table (JSON), form = table, headers = {} })
function Client:request(method, path, o)
  o = o or {}
  local headers = { host = T.HOST, ["user-agent"] = self.user_agent,
    accept = p_accept(path) }
  for k, v in pairs(self.headers) do headers[k:lower()] = v end
  local body = ""
  if o.form then
    body = util.build_query(o.form, true)
    headers["content-type"] = "application/x-www-form-urlencoded"
  elseif type(o.body) == "table" then
    body = json.encode(o.body)
    headers["content-type"] = "application/json"
  elseif o.body then
    body = o.body
  end
  if method ~= "GET" and method ~= "HEAD" and self.auto_csrf then
    headers.origin = "http://" .. T.HOST
    if self.csrf then headers["x-csrf-token"] = self.csrf end
  end
  local cookie = self:cookie_header()
  if cookie ~= "" then headers.cookie = cookie end
  for k, v in pairs(o.headers or {}) do headers[k:lower()] = v end
  local p, q = path:match("^([^?]*)%??(.*)$")
  local req = { method = method, path = p, query = q, headers = headers, body = body, peer = self.peer }
  local status, h, rbody = app.handle(req)
  if type(rbody) == "table" and rbody.file then -- a file answer: what the host would send
    rbody = method == "HEAD" and "" or assert(require("core.fs").read(rbody.file))
  end
  local res = setmetatable({ status = status, headers = lower_headers(h), body = rbody }, Response)
  for k, v in pairs(web.common_headers) do
    if res.headers[k:lower()] == nil then res.headers[k:lower()] = v end
  end
  store_cookies(self.jar, res.headers["set-cookie"])
  return res
end

function Client:get(path, headers) return self:request("GET", path, { headers = headers }) end
function Client:head(path, headers) return self:request("HEAD", path, { headers = headers }) end
function Client:post(path, body, headers) return self:request("POST", path, { body = body or {}, headers = headers }) end
function Client:put(path, body, headers) return self:request("PUT", path, { body = body or {}, headers = headers }) end
function Client:patch(path, body, headers) return self:request("PATCH", path, { body = body or {}, headers = headers }) end
function Client:delete(path, headers) return self:request("DELETE", path, { headers = headers }) end
--- Posts a form the way a browser does (urlencoded, with the page's csrf_token field).
function Client:form(path, fields, headers)
  fields = util.copy(fields or {})
  if self.csrf and fields.csrf_token == nil and self.auto_csrf then fields.csrf_token = self.csrf end
  return self:request("POST", path, { form = fields, headers = headers })
end

--- Follows a redirect the way a browser does after a form post: fails unless res is a 303,
--- then GETs its Location (without the #fragment, which browsers keep to themselves).
--- Returns the GET's response.
function Client:follow(res)
  if res.status ~= 303 then
    fail(("expected a 303 redirect, got %d: %s"):format(res.status, show(res.body)), 1)
  end
  return self:get((res.headers.location:gsub("#.*$", "")))
end

-- ---------------------------------------------------------------- socket client
local server_port

--- Starts the real HTTP server on 127.0.0.1 (once per file) and returns its port.
function T.serve()
  if server_port then return server_port end
  if T.server_limits then server.configure(T.server_limits) end
  server.set_handler(app.handle)
  server_port = assert(server.listen("127.0.0.1", 0))
  server.set_common_headers(web.common_header_lines())
  server.set_static("/static/", app.app_dir .. "/static")
  return server_port
end

local Sock = {}
Sock.__index = Sock

--- A client over a real TCP connection to the in-process server.
function T.socket()
  local port = T.serve()
  local conn = assert(net.connect("127.0.0.1", port))
  return setmetatable({ conn = conn, buf = "" }, Sock)
end

function Sock:send(bytes) return self.conn:send(bytes) end

--- Reads whatever arrives within timeout_ms (nil, err with err.code "eof" or "timeout" when
--- nothing does).
function Sock:read(timeout_ms) return self.conn:read(timeout_ms) end

-- Reads one full response (Content-Length framed) or nil, err (err.code "eof" or "timeout").
function Sock:response(timeout_ms)
  while true do
    local head_end = self.buf:find("\r\n\r\n", 1, true)
    if head_end then
      local head = self.buf:sub(1, head_end - 1)
      local status = tonumber(head:match("^HTTP/1%.%d (%d%d%d)"))
      local headers = {}
      for line in head:gmatch("\r\n([^\r\n]+)") do
        local k, v = line:match("^([^:]+):%s*(.*)$")
        if k then
          k = k:lower()
          if headers[k] then
            headers[k] = type(headers[k]) == "table" and headers[k] or { headers[k] }
            table.insert(headers[k], v)
          else
            headers[k] = v
          end
        end
      end
      local len = tonumber(headers["content-length"] or 0)
      if status == 304 or status == 204 or (status and status < 200) or self.head_request then len = 0 end
      if #self.buf >= head_end + 3 + len then
        local body = self.buf:sub(head_end + 4, head_end + 3 + len)
        self.buf = self.buf:sub(head_end + 4 + len)
        return setmetatable({ status = status, headers = headers, body = body }, Response)
      end
    end
    local data, err = self.conn:read(timeout_ms or 5000)
    if not data then return nil, err end
    self.buf = self.buf .. data
  end
end

--- request(method, path, { headers = {}, body = "" }) -> response
function Sock:request(method, path, o)
  o = o or {}
  local lines = { ("%s %s HTTP/1.1"):format(method, path), "Host: 127.0.0.1" }
  for k, v in pairs(o.headers or {}) do lines[#lines + 1] = k .. ": " .. v end
  local body = o.body or ""
  if body ~= "" or method == "POST" or method == "PUT" or method == "PATCH" then
    lines[#lines + 1] = "Content-Length: " .. #body
  end
  self.head_request = method == "HEAD"
  assert(self:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. body))
  return self:response(o.timeout_ms)
end

function Sock:close() self.conn:close() end

-- ---------------------------------------------------------------- time
local UNITS = { s = 1, m = 60, h = 3600, d = 86400, w = 604800 }

local function seconds(dt)
  if type(dt) == "number" then return dt end
  local n, u = tostring(dt):match("^(%d+)(%a)$")
  assert(n and UNITS[u], "durations look like 30s, 15m, 2h, 3d or 1w")
  return tonumber(n) * UNITS[u]
end

--- Seconds since the epoch on the virtual clock.
function T.now() return clock.now() end

--- Moves the virtual clock forward, running every job that falls due on the way, in order.
function T.advance(dt)
  local target = clock.now_ms() + math.floor(seconds(dt) * 1000)
  while true do
    local due = sched.next_due()
    if not due or due > target then break end
    if due > clock.now_ms() then clock.advance(due - clock.now_ms()) end
    app.run_due_jobs({ inline = true })
  end
  if target > clock.now_ms() then clock.advance(target - clock.now_ms()) end
end

--- Runs the jobs due now, as the server does right after a change commits (a cycle's
--- invitations are queued so), without moving the clock.
function T.run_jobs() T.advance(0) end

--- Moves the clock forward to a moment ("2026-02-01" or "2026-02-01T09:00:00Z").
function T.advance_to(when)
  local ts = assert(util.parse_time(when), "bad time " .. tostring(when))
  local dt = ts - clock.now()
  assert(dt >= 0, "the clock only moves forward")
  T.advance(dt)
end

-- ---------------------------------------------------------------- mail and data
--- Mail in the outbox (oldest first), as it will be sent (a mail with a credential link is
--- stored with the link hidden and sealed whole: here it is opened); filter: { to = email,
--- template = name }.
function T.outbox(filter)
  local ok = core_db.value("SELECT 1 FROM sqlite_master WHERE type='table' AND name='outbox'")
  if not ok then return {} end
  local rows = db.query("SELECT * FROM outbox ORDER BY id")
  for _, m in ipairs(rows) do
    if m.body_enc then
      local full = json.decode(require("lib.crypt").open("outbox", "body_enc", { m.id }, m.body_enc))
      m.subject, m.body_text, m.body_html = full.subject, full.text, full.html
    end
  end
  if not filter then return rows end
  local out = {}
  for _, m in ipairs(rows) do
    if (not filter.to or m.to_email == filter.to) and (not filter.template or m.template == filter.template) then
      out[#out + 1] = m
    end
  end
  return out
end

--- Number of SQL statements run by fn (to prove a page costs a constant number of queries).
function T.count_queries(fn)
  local before = core_db.stats().queries
  fn()
  return core_db.stats().queries - before
end

-- Runs fn with lib/db's functions names each calling note(real, sql, ...) before running the
-- statement; real holds the functions as they were, put back afterwards.
local function watching(names, note, fn)
  local real = {}
  for _, name in ipairs(names) do
    real[name] = db[name]
    db[name] = function(sql, ...)
      note(real, sql, ...)
      return real[name](sql, ...)
    end
  end
  local ok, err = pcall(fn)
  for name, f in pairs(real) do db[name] = f end
  if not ok then error(err, 0) end
end

--- The SQL texts of the statements fn runs through lib/db, in order (to prove what a page reads,
--- e.g. that a second look reads no answer).
function T.statements(fn)
  local seen = {}
  watching({ "query", "row", "value", "column", "columns", "exec", "insert" },
    function(_, sql) seen[#seen + 1] = sql end, fn)
  return seen
end

--- The reads fn runs through lib/db with SQLite's plan for each, in order: { { sql =, plan = the
--- plan's lines joined by newlines } } (to prove how a page reads, e.g. through an index, without
--- a scan of a big table or a sort of all its rows).
function T.query_plans(fn)
  local seen = {}
  watching({ "query", "row", "value", "column", "columns" }, function(real, sql, ...)
    local lines = {}
    for _, r in ipairs(real.query("EXPLAIN QUERY PLAN " .. sql, ...)) do lines[#lines + 1] = r.detail end
    seen[#seen + 1] = { sql = sql, plan = table.concat(lines, "\n") }
  end, fn)
  return seen
end

--- Runs fn, calling on_commit(n) after each of the outermost transactions it commits (the n-th);
--- returns how many there were (to prove long work is cut into slices that commit on their own).
function T.each_commit(fn, on_commit)
  local real, n = core_db.commit, 0
  core_db.commit = function(...)
    local res = table.pack(real(...))
    if res[1] and core_db.depth() == 0 then
      n = n + 1
      if on_commit then on_commit(n) end
    end
    return table.unpack(res, 1, res.n)
  end
  local ok, err = pcall(fn)
  core_db.commit = real
  if not ok then error(err, 0) end
  return n
end

T.DEMO_PASSWORD = "demo-password-123"

--- Loads the demo company; returns a table key -> user row (keys as in lua/demo.lua).
function T.demo()
  if demo.is_empty() then demo.fill(T.DEMO_PASSWORD) end
  local people = {}
  for _, p in ipairs(demo.PEOPLE) do
    people[p[1]] = db.row("SELECT * FROM users WHERE email = ?", demo.email(p[1]))
  end
  for _, g in ipairs(demo.GUESTS) do
    people[g[1]] = db.row("SELECT * FROM users WHERE email = ?", g[1])
  end
  return people
end

--- A client signed in as email (through the sign-in API when the sessions service is loaded).
function T.login(email, password, opts)
  local c = T.client(opts)
  local res = c:post("/api/session", { email = email, password = password or T.DEMO_PASSWORD })
  if res.status ~= 200 then fail(("sign-in as %s failed: %d %s"):format(email, res.status, res.body), 1) end
  c.csrf = res.json.csrf_token
  c.user = res.json.user
  return c
end

local as_clients = {}

--- A client signed in as the demo person key ("mia"), cached per key: signing in costs time. It
--- signs in again once the virtual clock moved past the idle timeout.
function T.as(key)
  local c = as_clients[key]
  if not c or T.now() - c.signed_in_at > 20 * 60 then
    c = T.login(demo.email(key))
    c.signed_in_at = T.now()
    as_clients[key] = c
  end
  return c
end

--- A manager with n reports added to the demo company (all sign in with the demo password):
--- "Quinn Boss" <quinn.boss@northwind.example> under Olivia, reports "Report Ünïcode 01".. with
--- emails report01@northwind.example... Returns the manager's email and id, and the reports' ids.
function T.team_of(n)
  local P = T.demo()
  local email = "quinn.boss@northwind.example"
  local reports = {}
  local boss = db.transaction(function()
    local hash = db.value("SELECT password_hash FROM users WHERE id = ?", P.ravi.id)
    local now = clock.now()
    local id = db.insert([[INSERT INTO users(email, name, job_title, status, kind, password_hash, manager_id, created_at,
      updated_at) VALUES(?, 'Quinn Boss', 'Director', 'active', 'employee', ?, ?, ?, ?)]], email, hash, P.olivia.id, now, now)
    for i = 1, n do
      reports[i] = db.insert([[INSERT INTO users(email, name, job_title, status, kind, password_hash, manager_id,
        created_at, updated_at) VALUES(?, ?, 'Engineer', 'active', 'employee', ?, ?, ?, ?)]],
        ("report%02d@northwind.example"):format(i), ("Report Ünïcode %02d"):format(i), hash, id, now, now)
    end
    return id
  end)
  require("services.access").reload()
  return email, boss, reports
end

-- ---------------------------------------------------------------- runner
local function location(tb)
  for line in tb:gmatch("[^\n]+") do
    local where = line:match("^%s*(.-:%d+):")
    if where and where:find(current_file, 1, true) then return where end
  end
end

-- ---------------------------------------------------------------- events and their docs

--- The events docs/events.md lists: name -> { field = true } (a field written `x?` is `x`),
--- and the patterns of names written with <...> (e.g. cycle.<name>).
function T.documented_events(path)
  local doc = assert(fs.read(path or "docs/events.md"), "docs/events.md is missing")
  local out, patterns = {}, {}
  for line in doc:gmatch("[^\n]+") do
    local name = line:match("^| `([%w_%.<>]+)` |")
    if name and name:find(".", 1, true) then
      local cells = {}
      for cell in line:gmatch("|([^|]*)") do cells[#cells + 1] = cell end
      local fields = {}
      for f in (cells[4] or ""):gmatch("`([%w_]+)%??`") do fields[f] = true end
      if #cells == 5 and name:find("<", 1, true) then -- a row of the event tables: event | when | where | fields
        patterns[#patterns + 1] = { pattern = "^" .. name:gsub("%.", "%%."):gsub("<[%w_]+>", "[%%w_]+") .. "$",
          fields = fields }
      elseif #cells == 5 then
        out[name] = fields
      end
    end
  end
  return out, patterns
end

--- What an event that fired breaks of docs/events.md: nil when it is documented with every
--- field it carries, else a sentence.
function T.event_problem(name, data, documented, patterns)
  local fields = documented[name]
  if not fields then
    for _, p in ipairs(patterns) do
      -- cycle.<name>: only the events a workflow version in use declares
      if name:match(p.pattern) and workflows.declares_event(name) then fields = p.fields end
    end
  end
  if not fields then return ("%s is not in docs/events.md"):format(name) end
  local extra = {}
  for k in pairs(data) do if not fields[k] then extra[#extra + 1] = tostring(k) end end
  if #extra > 0 then
    table.sort(extra)
    return ("%s carries fields docs/events.md does not list: %s"):format(name, table.concat(extra, ", "))
  end
  return nil
end

-- Watches every event of a scenario file against docs/events.md; returns the list of problems.
local function watch_events()
  local documented, patterns = T.documented_events()
  local problems, seen = {}, {}
  events.hook("*", function(data, name)
    if name:sub(1, 5) == "test." then return end -- the scenarios' own events
    local p = T.event_problem(name, data, documented, patterns)
    if p and not seen[p] then
      seen[p] = true
      problems[#problems + 1] = p
    end
  end, math.huge)
  return problems
end

--- Runs one scenario file; prints a line per test; returns passed, failed.
function T.run_file(path, opts)
  opts = opts or {}
  current_file = path
  log.set_level(opts.verbose and "debug" or "warn")
  local ok, err = app.init({ test = true })
  if not ok then
    print(("FAIL  %s: cannot start the app: %s"):format(path, err))
    return 0, 1
  end
  local chunk, lerr = loadfile(path, "t")
  if not chunk then
    print(("FAIL  %s: %s"):format(path, lerr))
    return 0, 1
  end
  tests = {}
  local event_problems = watch_events()
  local lok, lres = xpcall(chunk, debug.traceback)
  if not lok then
    print(("FAIL  %s: error while loading: %s"):format(path, tostring(lres)))
    return 0, 1
  end
  local passed, failed = 0, 0
  for _, t in ipairs(tests) do
    if not opts.filter or t.name:find(opts.filter, 1, true) then
      local started = clock.mono_ms()
      local tok, terr = xpcall(t.fn, function(e)
        if getmetatable(e) == Failure then
          return { failure = true, message = e.message, where = location(debug.traceback("", 2)) }
        end
        return { failure = false, message = tostring(e), trace = debug.traceback(tostring(e), 2) }
      end)
      db.rollback_all()
      local ms = clock.mono_ms() - started
      if tok then
        passed = passed + 1
        print(("ok    %s: %s  (%d ms)"):format(path, t.name, ms))
      else
        failed = failed + 1
        print(("FAIL  %s: %s"):format(path, t.name))
        if terr.failure then
          print(("      %s%s"):format(terr.where and (terr.where .. ": ") or "", terr.message))
        else
          print("      error: " .. terr.trace:gsub("\n", "\n      "))
        end
      end
    end
  end
  if #event_problems > 0 then
    failed = failed + 1
    print(("FAIL  %s: the events fired here are in docs/events.md"):format(path))
    for _, p in ipairs(event_problems) do print("      " .. p) end
  end
  return passed, failed
end

return T
