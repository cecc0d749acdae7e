-- Runs one hook script for one event in the sandbox, with the API hooks have (docs/hooks.md):
--
--   http.request{ method, url, headers, json | body, timeout }   -- only to the hook's hosts
--   secrets.get(name)        people.get(id)        people.find{ email = }        log(...)
--
-- A hook is a Lua text that returns a function(event). It runs in core.sandbox — a worker
-- process the server kills on a wall-clock deadline, with an instruction budget and a memory cap,
-- no io/os/debug/load — and calls the API as host functions: each runs here, in the server's
-- task (an HTTP request waits on the network like any job; the script's deadline does not count
-- that time), and its answer goes back to the script as plain data.
local json = require "lib.json"
local util = require "lib.util"
local sandbox = require "core.sandbox"
local clock = require "core.clock"
local timer = require "core.timer"
local fetch = require "core.fetch"

local M = {}

M.MEMORY = 8 * 1024 * 1024   -- bytes per run
M.INSTRUCTIONS = 10e6         -- per run
M.SCRIPT_MS = 2000            -- the script's own wall-clock time per run (waiting on a host call not counted)
M.MAX_CALLS = 50              -- host calls per run (HTTP requests, secrets, people, log)
M.MAX_HTTP = 10               -- HTTP requests per run
M.DEFAULT_TIMEOUT = 5         -- seconds, one HTTP request
M.MAX_TIMEOUT = 10
M.RUN_SECONDS = 30            -- the HTTP requests of one run in all
M.MAX_ANSWER = 256 * 1024     -- bytes of an answer read
M.MAX_BODY = 256 * 1024       -- bytes of a request body
M.LOG_LINES, M.LOG_LINE = 50, 500
-- Hook runs in the sandbox at once. A run holds a sandbox worker while its HTTP requests wait, and
-- the pool has two for calls that wait: one stays free for workflow rules and checks.
M.AT_ONCE = 1

local FUNCTION = "a hook returns a function(event): return function(event) ... end"

local function limits(functions)
  return { memory_limit = M.MEMORY, instruction_limit = M.INSTRUCTIONS, timeout_ms = M.SCRIPT_MS,
    functions = functions }
end

-- Host functions that only say the script is being checked (none runs while checking).
local NOT_NOW = function() error("not while checking", 0) end
local CHECKING = { http = { request = NOT_NOW }, secrets = { get = NOT_NOW },
  people = { get = NOT_NOW, find = NOT_NOW }, log = NOT_NOW }

--- Checks a hook's text: it compiles in the sandbox and returns a function. Returns true, or nil
--- and the problem (the script's own line numbers).
function M.check(source, name)
  if type(source) ~= "string" or source:find("^%s*$") then return nil, "The script is empty." end
  local sb, err = sandbox.load(source, name or "hook", limits(CHECKING))
  if not sb then return nil, err.message end
  local kind = sb:data()
  sb:close()
  if kind ~= "<function>" then return nil, FUNCTION end
  return true
end

-- ---------------------------------------------------------------- the host side
-- Data that may enter the sandbox: nil, booleans, numbers, strings, tables of them (json.null out).
local function plain(v, depth)
  local t = type(v)
  if t == "table" then
    if (depth or 0) > 20 then return nil end
    local out = {}
    for k, x in pairs(v) do
      if type(k) == "string" or type(k) == "number" then out[k] = plain(x, (depth or 0) + 1) end
    end
    return out
  end
  if t == "string" or t == "number" or t == "boolean" then return v end
  return nil
end

--- Whether host (from a URL) is on the list: exact names, or "*.example.com" for its subdomains.
function M.host_allowed(list, host)
  host = (host or ""):lower()
  for _, h in ipairs(list or {}) do
    h = h:lower()
    if h == host then return true end
    local base = h:match("^%*%.(.+)$")
    if base and #host > #base + 1 and host:sub(-(#base + 1)) == "." .. base then return true end
  end
  return false
end

local function url_host(url)
  local authority = url:match("^https?://([^/?#]*)")
  if not authority then return nil end
  return authority:match("^%[([^%]]+)%]") or authority:match("^([^:]+)")
end

--- The host functions of one run. ctx: { allow = { hosts }, secret = fn(name) -> value | nil,
--- person = fn(id), find = fn(query), deny_local = bool, deny_private = bool (core.fetch), mode =
--- "live" | "dry" | "url", url = the URL every request goes to in mode "url" }. Returns the functions and the run's record
--- ({ calls = {}, secrets = { values asked } }).
function M.host_calls(ctx)
  local record = { calls = {}, secrets = {}, started = clock.mono_ms() }
  local http_count = 0
  local function http(req)
    if type(req) ~= "table" then error("http.request takes a table: { method =, url =, ... }", 0) end
    local method = req.method or "GET"
    if type(method) ~= "string" or not method:match("^[A-Z]+$") then error("http.request: method must be like GET or POST", 0) end
    if type(req.url) ~= "string" or not req.url:match("^https?://") then error("http.request: url must start with http:// or https://", 0) end
    local host = url_host(req.url)
    if not host or host == "" or req.url:match("^https?://[^/?#]*@") then error("http.request: not a usable URL: " .. req.url, 0) end
    if ctx.mode ~= "url" and not M.host_allowed(ctx.allow, host) then
      error(("http.request: %s is not on this hook's list of hosts"):format(host), 0)
    end
    http_count = http_count + 1
    if http_count > M.MAX_HTTP then error(("http.request: at most %d requests in one run"):format(M.MAX_HTTP), 0) end
    local headers = {}
    for k, v in pairs(type(req.headers) == "table" and req.headers or {}) do
      if type(k) == "string" and (type(v) == "string" or type(v) == "number") then headers[k] = tostring(v) end
    end
    local body = req.body
    if req.json ~= nil then
      body = json.encode(req.json)
      local has_type = false
      for k in pairs(headers) do if k:lower() == "content-type" then has_type = true end end
      if not has_type then headers["Content-Type"] = "application/json" end
    end
    if body ~= nil and type(body) ~= "string" then error("http.request: body must be text (or give json)", 0) end
    if body and #body > M.MAX_BODY then error(("http.request: a body of at most %d bytes"):format(M.MAX_BODY), 0) end
    local timeout = math.tointeger(req.timeout) or M.DEFAULT_TIMEOUT
    if timeout < 1 or timeout > M.MAX_TIMEOUT then error(("http.request: timeout is 1 to %d seconds"):format(M.MAX_TIMEOUT), 0) end
    local left = M.RUN_SECONDS * 1000 - (clock.mono_ms() - record.started)
    if left <= 0 then error(("http.request: the run's %d seconds for requests are used up"):format(M.RUN_SECONDS), 0) end
    local url = ctx.mode == "url" and ctx.url or req.url
    local call = { method = method, url = url, headers = headers, body = body and util.truncate_bytes(body, 2000) }
    record.calls[#record.calls + 1] = call
    if ctx.mode == "dry" then
      call.status, call.dry = 200, true
      return { status = 200, headers = {}, body = "", dry = true }
    end
    local t0 = clock.mono_ms()
    local res, err = fetch.request{ method = method, url = url, headers = headers, body = body,
      timeout_ms = math.min(timeout * 1000, left), max_body = M.MAX_ANSWER, deny_local = ctx.deny_local,
      deny_private = ctx.deny_private }
    call.ms = clock.mono_ms() - t0
    if not res then
      call.error = err.message
      error(("http.request %s: %s"):format(url, err.message), 0)
    end
    call.status = res.status
    local out = { status = res.status, headers = res.headers, body = res.body }
    if (res.headers["content-type"] or ""):find("json", 1, true) then out.json = plain(json.decode(res.body)) end
    return plain(out)
  end
  local function secret(name)
    if type(name) ~= "string" then error("secrets.get takes a name", 0) end
    local v = ctx.secret(name)
    if v then record.secrets[#record.secrets + 1] = v end
    return v
  end
  local function person(id) return plain(ctx.person(id)) end
  local function find(q)
    if type(q) ~= "table" or type(q.email) ~= "string" then error("people.find takes { email = ... }", 0) end
    return plain(ctx.find(q))
  end
  return { http = http, secret = secret, person = person, find = find }, record
end

-- ---------------------------------------------------------------- a run
-- The runs in the sandbox now: their start times (a run whose task was abandoned — its client
-- went away — never says it ended: it counts until it could not be running any more).
local holding = {}
local LONGEST = (M.RUN_SECONDS + M.SCRIPT_MS // 1000 + 15) * 1000

local function wait_turn()
  while true do
    local now, live = clock.mono_ms(), {}
    for _, started in ipairs(holding) do
      if now - started < LONGEST then live[#live + 1] = started end
    end
    holding = live
    if #holding < M.AT_ONCE then
      local mine = clock.mono_ms()
      holding[#holding + 1] = mine
      return mine
    end
    timer.sleep(10)
  end
end

local function done_turn(mine)
  for i, started in ipairs(holding) do
    if started == mine then table.remove(holding, i) return end
  end
end

local run_now -- below

--- Runs source (named name) for event ({ name =, data =, ... }) with the host functions fns
--- (host_calls), when its turn comes (AT_ONCE) — unless still() (optional) says by then that it
--- should not run any more. Returns { ok = true | nil, error =, code =, logs = {} }, or
--- { skipped = true }.
function M.run(source, name, event, fns, still)
  local mine = wait_turn()
  if still and not still() then
    done_turn(mine)
    return { skipped = true, logs = {} }
  end
  local ok, res = pcall(run_now, source, name, event, fns)
  done_turn(mine)
  if not ok then error(res, 0) end
  return res
end

run_now = function(source, name, event, fns)
  local logs, calls = {}, 0
  local function counted(fn)
    return function(...)
      calls = calls + 1
      if calls > M.MAX_CALLS then error(("at most %d calls (http, secrets, people, log) in one run"):format(M.MAX_CALLS), 0) end
      return fn(...)
    end
  end
  local function log(...)
    if #logs >= M.LOG_LINES then return end
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    logs[#logs + 1] = util.truncate_bytes(table.concat(parts, " "), M.LOG_LINE)
  end
  local sb, err = sandbox.load(source, name, limits{ http = { request = counted(fns.http) },
    secrets = { get = counted(fns.secret) }, people = { get = counted(fns.person), find = counted(fns.find) },
    log = counted(log) })
  if not sb then return { error = err.message, code = err.code, logs = logs } end
  if sb:data() ~= "<function>" then
    sb:close()
    return { error = FUNCTION, code = "runtime", logs = logs }
  end
  local first, second = sb:call({}, event) -- {}: the module itself
  sb:close()
  if first == nil and type(second) == "table" and second.code then
    return { error = second.message, code = second.code, logs = logs }
  end
  return { ok = true, logs = logs }
end

return M
