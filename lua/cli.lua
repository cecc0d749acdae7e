-- Command-line entry points (core/main.c parses the flags and calls main).
local log = require "core.log"
local server = require "core.server"
local fs = require "core.fs"
local core_db = require "core.db"
local clock = require "core.clock"
local web = require "lib.web"
local app = require "app"
local demo = require "demo"
local testing = require "testing"
local audit = require "services.audit"
local import = require "services.import"
local people = require "services.people"
local keys = require "services.keys"
local first_run = require "services.first_run"
local settings = require "services.settings"
local db = require "lib.db"

local M = {}

local function parse_listen(s)
  local host, port = (s or "127.0.0.1:8080"):match("^%[?([^%]]*)%]?:(%d+)$")
  if not host then return nil end
  return host, tonumber(port)
end

local function init(opts, extra)
  local o = { data_dir = opts.data or "data" }
  for k, v in pairs(extra or {}) do o[k] = v end
  local ok, err = app.init(o)
  if not ok then
    io.stderr:write("candor: ", err, "\n")
    return nil
  end
  return app
end

--- candor serve [--data DIR] [--listen HOST:PORT] [--demo]
function M.serve(opts)
  local host, port = parse_listen(opts.listen)
  if not host then
    io.stderr:write("candor: --listen takes HOST:PORT, e.g. 127.0.0.1:8080\n")
    return 2
  end
  local data = opts.data or "data"
  local fresh = not fs.stat(data .. "/candor.db")
  if not init(opts) then return 1 end
  local demo_note
  if opts.demo then
    if demo.is_empty() then
      -- the demo's mails link to where this server answers (a Tech Admin changes it later)
      if port ~= 0 and host ~= "0.0.0.0" and host ~= "::" then
        db.transaction(function()
          settings.set("server.public_url",
            ("http://%s:%d"):format(host:find(":", 1, true) and ("[" .. host .. "]") or host, port))
        end)
      end
      demo_note = demo.fill(os.getenv("CANDOR_DEMO_PASSWORD"))
      local ok, err = pcall(demo.sample_cycle)
      if not ok then log.warn("the demo review cycle could not be made: " .. tostring(err)) end
      ok, err = pcall(demo.sample_360)
      if not ok then log.warn("the demo 360 cycle could not be made: " .. tostring(err)) end
      ok, err = pcall(demo.sample_messages)
      if not ok then log.warn("the demo praise and messages could not be made: " .. tostring(err)) end
      ok, err = pcall(demo.sample_one_on_ones)
      if not ok then log.warn("the demo 1:1 meetings could not be made: " .. tostring(err)) end
      ok, err = pcall(demo.sample_objectives)
      if not ok then log.warn("the demo objectives could not be made: " .. tostring(err)) end
      ok, err = pcall(demo.sample_surveys)
      if not ok then log.warn("the demo pulse survey could not be made: " .. tostring(err)) end
      ok, err = pcall(demo.sample_automations)
      if not ok then log.warn("the demo automations could not be made: " .. tostring(err)) end
    elseif fresh == false then
      demo_note = demo.existing_note()
    end
  end
  server.set_handler(app.handle)
  local bound, err = server.listen(host, port)
  if not bound then
    io.stderr:write("candor: ", err.message, "\n")
    return 1
  end
  server.set_common_headers(web.common_header_lines())
  server.set_static("/static/", app.app_dir .. "/static")
  local url = ("http://%s:%d/"):format(host:find(":") and ("[" .. host .. "]") or host, bound)
  io.stdout:write(("\nCandor is running at %s  (data folder: %s)\n"):format(url, data))
  if demo_note then io.stdout:write(demo_note) end
  -- a new company (no --demo, nobody has an account): the one-time code for the set-up page
  local setup_code = not opts.demo and first_run.open()
  if setup_code then
    io.stdout:write(("First run: nobody has an account yet. Open %ssetup and enter the set-up code\n  %s\n"
      .. "to create the first account (HR Admin + Tech Admin). A restart prints a new code.\n"):format(url, setup_code))
  end
  io.stdout:write("Stop it with Ctrl-C.\n\n")
  io.stdout:flush()
  log.info("listening on " .. url)
  return nil -- keep serving
end

--- candor test FILE: run one scenario file (main.c gives each file a fresh host)
function M.test(opts, args)
  local passed, failed = testing.run_file(args[1], opts)
  return 0, passed, failed
end

--- candor run [--data DIR] SCRIPT.lua [ARGS...]
function M.run(opts, args)
  if not init(opts) then return 1 end
  local script = table.remove(args, 1)
  local chunk, err = loadfile(script, "t")
  if not chunk then
    io.stderr:write("candor: ", err, "\n")
    return 1
  end
  local code = chunk(table.unpack(args))
  return math.type(code) == "integer" and code or 0
end

--- candor migrate [--data DIR]
function M.migrate(opts)
  if not init(opts) then return 1 end
  io.stdout:write(("database is at schema version %d\n"):format(core_db.version()))
  return 0
end

--- candor backup [--data DIR] FILE
function M.backup(opts, args)
  if not init(opts) then return 1 end
  local ok, err = core_db.backup(args[1])
  if not ok then
    io.stderr:write("candor: ", err.message, "\n")
    return 1
  end
  io.stdout:write(("backup written to %s (the master key is not in it: keep %s/master.key safe too)\n")
    :format(args[1], app.data_dir))
  return 0
end

--- candor rotate-key [--data DIR]
M["rotate-key"] = function(opts)
  if not init(opts) then return 1 end
  return keys.rotate_cli(app)
end

--- candor audit [--data DIR] verify
function M.audit(opts, args)
  if args[1] ~= "verify" then
    io.stderr:write("candor: usage: candor audit [--data DIR] verify\n")
    return 2
  end
  if not init(opts) then return 1 end
  local ok, n, bad = audit.verify()
  if ok then
    io.stdout:write(("audit log intact: %d entries, hash chain verified\n"):format(n))
    return 0
  end
  io.stderr:write(("audit log BROKEN at entry %s: %s\n"):format(tostring(bad and bad.id), bad and bad.reason or "?"))
  return 1
end

--- candor import [--data DIR] [--dry-run] FILE.csv: the user import (services/import.lua) run
--- by whoever owns the data folder: every role grant is allowed, the guest setting still holds.
--- Prints progress (500 rows at a time while checking, then each slice of changes), the problems
--- and notes, and a summary. The import is recorded like one started on the page, and applied in
--- short transactions (a server on the same data folder keeps serving). Exit 0 when the file was
--- imported (or, with --dry-run, would be), 1 when it has problems (nothing changed) or stopped.
function M.import(opts, args)
  local f, ferr = io.open(args[1], "rb")
  if not f then
    io.stderr:write("candor: ", ferr, "\n")
    return 1
  end
  local text = f:read("a")
  f:close()
  if not init(opts) then return 1 end
  local dry = opts["dry-run"] and true or false
  local started = clock.mono_ms()
  local function progress(phase, done, total) io.stdout:write(("%s %d/%d\n"):format(phase, done, total)) end
  local report, id
  if dry then
    report = import.check(people.OPERATOR, text, { progress = progress })
  else
    -- the job planned with it resumes the import if this process stops before the end
    report, id = import.start(people.OPERATOR, text, { via = "cli", progress = progress, job_delay = import.LEASE })
  end
  for _, p in ipairs(report.problems) do
    io.stdout:write(("line %d: %s%s\n"):format(p.line, p.field and (p.field .. ": ") or "", p.message))
  end
  if report.problems_total > #report.problems then
    io.stdout:write(("...and %d more problems\n"):format(report.problems_total - #report.problems))
  end
  for _, n in ipairs(report.notes) do
    io.stdout:write(("note: line %d: %s\n"):format(n.line, n.message))
  end
  if not report.ok then
    io.stdout:write(("%d problem%s in %d row%s: nothing was imported (%d ms)\n"):format(report.problems_total,
      report.problems_total == 1 and "" or "s", report.rows, report.rows == 1 and "" or "s", clock.mono_ms() - started))
    return 1
  end
  if dry then
    io.stdout:write(("dry run, nothing changed: %d row%s: %d new, %d updated, %d unchanged, %d reporting lines set, "
      .. "%d roles granted, %d roles skipped (%d ms)\n"):format(report.rows, report.rows == 1 and "" or "s",
      report.created, report.updated, report.unchanged, report.managers_set, report.roles_granted, report.roles_skipped,
      clock.mono_ms() - started))
    return 0
  end
  local imp = import.execute(id, { progress = progress })
  app.cancel_jobs("import:" .. id)
  local rep = imp.report
  for _, p in ipairs(rep.problems or {}) do
    io.stdout:write(("not imported: line %d: %s%s\n"):format(p.line, p.field and (p.field .. ": ") or "", p.message))
  end
  local c = rep.counts or {}
  if imp.status ~= "done" then
    io.stdout:write(("import %d stopped: %s\n"):format(imp.id, imp.error or imp.status))
    return 1
  end
  io.stdout:write(("imported %d row%s: %d new, %d updated, %d unchanged; made: %d people, %d profile changes, %d reporting "
    .. "lines, %d role grants; %d roles skipped, %d changes refused (import %d, %d ms)\n"):format(report.rows,
    report.rows == 1 and "" or "s", report.created, report.updated, report.unchanged, c.created or 0,
    c.profiles_updated or 0, c.managers_set or 0, c.roles_granted or 0, report.roles_skipped, rep.problems_total or 0,
    imp.id, clock.mono_ms() - started))
  if (c.managers_set or 0) > 0 or (c.roles_granted or 0) > 0 or (c.created or 0) > 0 then
    io.stdout:write("A server already running on this data folder loaded reporting lines and roles when it "
      .. "started: restart it so that its permission checks see the new ones.\n")
  end
  return 0
end

function M.main(cmd, opts, args)
  local fn = M[cmd]
  if not fn then
    io.stderr:write("candor: unknown command ", tostring(cmd), "\n")
    return 2
  end
  return fn(opts, args)
end

return M
