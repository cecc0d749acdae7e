-- Runs one hook script for one event in the sandbox, with the API hooks have (docs/hooks.md):
--
--   http.request{ method, url, headers, json | body, timeout }   -- only to the hook's hosts
--   secrets.get(name)        people.get(id)        people.find{ email = }        log(...)
--
-- A hook is a Lua text that returns a function(event). It runs in core.sandbox (its own Lua
-- state: an instruction budget, a memory cap, no io/os/debug/load). The host side of each call
-- (an HTTP request that waits on the network, a secret, a person) runs in the server's task.
--
-- core.sandbox in this version has no host functions, so a call is made the way a workflow
-- engine replays history: the script runs until its first call the host has not answered yet,
-- the sandbox returns that call, the host makes it and runs the script again from the start with
-- the answers so far, until it finishes. The script is deterministic given its answers (an
-- event, and the answers, in order), so each round repeats the calls before. run() is the only
-- place that knows this: a sandbox whose scripts call host functions directly (opts.functions)
-- takes host_calls() as they are and calls the script once.
local json = require "lib.json"
local util = require "lib.util"
local sandbox = require "core.sandbox"
local clock = require "core.clock"
local fetch = require "core.fetch"

local M = {}

M.MEMORY = 8 * 1024 * 1024   -- bytes per run
M.INSTRUCTIONS = 2e6          -- per round (about 30 ms of the loop: see docs/architecture.md, "Integrations")
M.MAX_CALLS = 20              -- host calls per run (HTTP requests, secrets, people)
M.MAX_HTTP = 10               -- HTTP requests per run
M.DEFAULT_TIMEOUT = 5         -- seconds, one HTTP request
M.MAX_TIMEOUT = 10
M.RUN_SECONDS = 30            -- the HTTP requests of one run in all
M.MAX_ANSWER = 256 * 1024     -- bytes of an answer read
M.MAX_BODY = 256 * 1024       -- bytes of a request body
M.LOG_LINES, M.LOG_LINE = 50, 500

-- The script's text inside the API. Everything before the script is on its first line, so a
-- message names the script's own line numbers; the API's functions do not end in a tail call, so
-- an error they raise names the line of the script that called them.
local PRELUDE = table.concat({
  "local __a, __n, __logs, __need = HOOK_ANSWERS, 0, {}, nil;",
  "local function __ask(kind, arg) __n = __n + 1; local a = __a[__n];",
  " if a == nil then if __need == nil then __need = { kind = kind, arg = arg } end;",
  " error('the hook waits for an answer from outside the sandbox', 0) end;",
  " if a.error ~= nil then error(a.error, 3) end; return a.value end;",
  "local http = { request = function(req) local v = __ask('http', req); return v end };",
  "local secrets = { get = function(name) local v = __ask('secret', name); return v end };",
  "local people = { get = function(id) local v = __ask('person', id); return v end,",
  " find = function(q) local v = __ask('find', q); return v end };",
  "local function log(...) if #__logs < ", tostring(M.LOG_LINES), " then local t = {};",
  " for i = 1, select('#', ...) do t[i] = tostring((select(i, ...))) end;",
  " __logs[#__logs + 1] = table.concat(t, ' '):sub(1, ", tostring(M.LOG_LINE), ") end end;",
  "local __fn = (function() ",
})
local EPILOGUE = [[

end)();
return { kind = function() return type(__fn) end, run = function(event)
  __n, __logs, __need = 0, {}, nil
  if type(__fn) ~= "function" then return { error = "a hook returns a function(event): return function(event) ... end" } end
  local ok, err = pcall(__fn, event)
  if __need ~= nil then return { need = __need, logs = __logs } end
  if not ok then return { error = tostring(err), logs = __logs } end
  return { ok = true, logs = __logs }
end }]]

local function chunk(source) return PRELUDE .. source .. EPILOGUE end

local function limits(answers)
  return { memory_limit = M.MEMORY, instruction_limit = M.INSTRUCTIONS, env = { HOOK_ANSWERS = answers or {} } }
end

--- Checks a hook's text: it compiles in the sandbox and returns a function. Returns true, or nil
--- and the problem (the script's own line numbers).
function M.check(source, name)
  if type(source) ~= "string" or source:find("^%s*$") then return nil, "The script is empty." end
  local sb, err = sandbox.load(chunk(source), name or "hook", limits())
  if not sb then return nil, err.message end
  local kind, kerr = sb:call({ "kind" })
  sb:close()
  if not kind then return nil, kerr.message end
  if kind ~= "function" then return nil, "a hook returns a function(event): return function(event) ... end" end
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
--- person = fn(id), find = fn(query), deny_local = bool, mode = "live" | "dry" | "url", url = the
--- URL every request goes to in mode "url" }. Returns the functions and the run's record
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
      timeout_ms = math.min(timeout * 1000, left), max_body = M.MAX_ANSWER, deny_local = ctx.deny_local }
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
local KINDS = { http = "http", secret = "secret", person = "person", find = "find" }

--- Runs source (named name) for event ({ name =, data =, ... }) with the host functions fns
--- (host_calls). Returns { ok = true | nil, error =, code =, logs = {}, rounds = n }.
function M.run(source, name, event, fns)
  local answers, rounds = {}, 0
  while true do
    rounds = rounds + 1
    local sb, err = sandbox.load(chunk(source), name, limits(answers))
    if not sb then return { error = err.message, code = err.code, logs = {}, rounds = rounds } end
    local res, cerr = sb:call({ "run" }, event)
    sb:close()
    if not res then return { error = cerr.message, code = cerr.code, logs = {}, rounds = rounds } end
    if not res.need then
      return { ok = res.ok, error = res.error, code = res.error and "runtime" or nil, logs = res.logs or {},
        rounds = rounds }
    end
    if #answers >= M.MAX_CALLS then
      return { error = ("at most %d calls (http, secrets, people) in one run"):format(M.MAX_CALLS), code = "calls",
        logs = res.logs or {}, rounds = rounds }
    end
    local fn = fns[KINDS[res.need.kind] or ""]
    local ok, value = pcall(fn, res.need.arg)
    answers[#answers + 1] = ok and { value = value } or { error = tostring(value) }
  end
end

return M
