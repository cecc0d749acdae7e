-- The application: opens the data folder, registers routes and jobs, and answers requests.
-- The host calls app.handle(req) in a task (a coroutine of its own) for every request.
local core_db = require "core.db"
local crypto = require "core.crypto"
local clock = require "core.clock"
local sched = require "core.sched"
local host = require "core.host"
local fs = require "core.fs"
local log = require "core.log"
local db = require "lib.db"
local web = require "lib.web"
local util = require "lib.util"
local page = require "lib.page"
local errors = require "lib.errors"
local events = require "lib.events"
local jobs = require "lib.jobs"
local router = require "lib.router"
local template = require "lib.template"
local route_list = require "routes"
local service_list = require "services"

local app = {
  router = router.new(),
  data_dir = nil,
  test = false,
  started_ms = nil,
}

-- The request's steps that services provide are events (docs/events.md): http.authenticate
-- (sets req.user, req.session, req.via), http.check_csrf (raises), http.permit (sets allowed
-- and reason) and http.response. Until a service hooks them, nobody is signed in and every
-- permission is denied.

--- Registers a kind of job: fn(payload_table, job_row), with its retry table and lane
--- (opts: retry, attempts, give_up_after, lane, on_fail; lib/jobs.lua).
function app.on_job(kind, fn, opts)
  jobs.define(kind, fn, opts)
end

--- Plans a job: due (seconds since epoch), kind, payload table, and optionally a key (a new
--- plan replaces the job with that key) or { coalesce = key } (the earlier time stays).
function app.schedule(due, kind, payload, key)
  return jobs.schedule(due, kind, payload, key)
end

function app.cancel_jobs(key, prefix)
  return jobs.cancel(key, prefix)
end

--- Runs jobs due now (called by the host timer; by the test clock with { inline = true }).
function app.run_due_jobs(opts)
  return jobs.run_due(opts)
end

-- Route modules, listed in lua/routes/init.lua.
local function load_routes()
  for _, name in ipairs(route_list) do
    local mod = require("routes." .. name)
    mod.routes(app.router, app)
  end
end

--- Opens (and creates) the data folder and database, applies migrations, loads everything.
--- opts: data_dir | test=true (in-memory database, random key, cheap password hashing,
--- virtual clock), quiet.
function app.init(opts)
  opts = opts or {}
  local dir = host.app_dir()
  app.app_dir = dir
  template.set_dir(dir)
  if opts.test then
    app.test = true
    clock.set_virtual(opts.start_ms or 1767603600000) -- Monday 2026-01-05 09:00 UTC
    crypto.set_password_cost("min")
    crypto.ephemeral_keys()
    assert(core_db.open(":memory:"))
  else
    local data = assert(opts.data_dir, "no data folder")
    assert(fs.mkdir(data, 448)) -- 0700
    app.data_dir = data
    local ok, err = crypto.load_keys(data .. "/master.key", true)
    if not ok then return nil, err.message end
    ok, err = core_db.open(data .. "/candor.db")
    if not ok then return nil, err.message end
  end
  local n, err = core_db.migrate(dir .. "/migrations")
  if not n then return nil, err.message end
  -- what a migration cannot do, being SQL: encrypt the reasons earlier versions kept in plain
  -- text (once, after migration 030; services/reasons.lua)
  require("services.reasons").seal_stored()
  -- the planner's statistics, from a sample of each index (analysis_limit: a few ms for a company
  -- of 10,000): without them a query on a big company may take a plan that reads every row
  core_db.script("PRAGMA analysis_limit = 1000; ANALYZE")
  load_routes()
  for _, name in ipairs(service_list) do
    local svc = require("services." .. name)
    if svc.init then svc.init(app) end
  end
  jobs.release()
  sched.set_handler(function() return app.run_due_jobs() end)
  app.started_ms = clock.now_ms()
  return true
end

-- Turns what a handler returned into status, headers, body for the host.
local function finish(req, res)
  events.fire("http.response", { req = req, res = res })
  local body = res.body or "" -- or { file = path }: the host sends that file (web.file)
  if req.method == "HEAD" and type(body) == "string" then body = "" end
  return res.status or 200, res.headers or {}, body
end

local function error_response(req, e)
  if not errors.is(e) then
    log.error(("%s %s failed: %s"):format(req.method, req.path, tostring(e)))
    e = errors.new(500, "internal", "Something went wrong on our side. It has been logged.")
  end
  if (req.route and req.route.api) or not web.wants_html(req) then
    return web.error_json(e)
  end
  return page.error(req, e)
end

local function keep_trace(e)
  if type(e) == "string" then return debug.traceback(e, 2) end
  return e
end

local PUBLIC_PERMS = { none = true, object = true }

local function run_route(req, route)
  if route.session ~= false then events.fire("http.authenticate", { req = req }) end
  local user, via = req.user, req.via
  if route.auth ~= "public" then
    if not user then
      if not route.api then
        return web.redirect("/?next=" .. util.url_encode(req.path
          .. (req.query ~= "" and "?" .. req.query or "")))
      end
      errors.unauthorized()
    end
    if route.auth == "user" and user.kind == "guest" then
      errors.forbidden("Guest accounts cannot use this.")
    elseif route.auth == "guest" and user.kind ~= "guest" then
      errors.forbidden("This is only for guests.")
    end
  end
  if route.csrf and via == "cookie" then events.fire("http.check_csrf", { req = req }) end
  if not PUBLIC_PERMS[route.perm] then
    local check = { user = user, perm = route.perm, req = req, allowed = false,
      reason = "Permissions are not set up." }
    events.fire("http.permit", check)
    if not check.allowed then errors.forbidden(check.reason) end
  end
  if route.tx then return db.transaction(route.handler, req, app) end
  return route.handler(req, app)
end

--- The request handler: req from the host -> status, headers, body.
function app.handle(req)
  db.sync() -- undo what a crashed task's transaction left in memory (the host rolled it back)
  local route, params = app.router:match(req.method, req.path)
  local res
  if not route then
    local e
    if #params > 0 then
      e = errors.new(405, "method_not_allowed", "This address does not take " .. req.method .. ".",
        { allow = table.concat(params, ", ") })
    else
      e = errors.new(404, "not_found", "There is nothing at this address.")
    end
    req.route = { api = req.path:sub(1, 5) == "/api/" }
    res = error_response(req, e)
    return finish(req, res)
  end
  req.params, req.route = params, route
  local ok, r = xpcall(run_route, keep_trace, req, route)
  if not ok then r = error_response(req, r) end
  if type(r) ~= "table" then
    r = error_response(req, "handler for " .. req.path .. " returned no response")
  end
  return finish(req, r)
end

return app
