-- The user import over HTTP: the JSON API (POST /api/users/import, the CSV as the body; the
-- records under /api/users/imports) and the page /people/import (check first, then import; an
-- import runs in the background and its page shows the progress; past imports are listed).
-- services.import does the work.
--
-- Size: the body of a request is limited by the server (1 MiB unless configured otherwise),
-- which holds about 10,000 typical rows; bigger files go through `candor import FILE.csv` on
-- the server, or in several parts (people are matched by email, so parts can be re-run).
--
-- The page takes the CSV in a textarea rather than a file input: a file input posts
-- multipart/form-data, which would need a second body parser and a CSRF check outside the
-- one every other form goes through (the token in a urlencoded field or the X-CSRF-Token
-- header). A spreadsheet's CSV pastes into the textarea as is; the API and the command line
-- take files.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local errors = require "lib.errors"
local events = require "lib.events"
local import = require "services.import"
local util = require "lib.util"

local M = {}

-- The report of a check as JSON (lists stay lists when empty).
local function report_json(r)
  local out = {}
  for k, v in pairs(r) do out[k] = v end
  out.problems = json.array(r.problems)
  out.notes = json.array(r.notes)
  local actions = {}
  for i, a in ipairs(r.actions) do
    actions[i] = { line = a.line, email = a.email, action = a.action, fields = json.array(a.fields) }
  end
  out.actions = json.array(actions)
  return out
end
M.report_json = report_json

-- An import record as JSON.
local function record_json(imp)
  local rep = imp.report
  return { id = imp.id, status = imp.status, via = imp.via, started_by = imp.actor_label,
    created_by = imp.created_by or json.null, rows = imp.rows, phase = imp.phase or json.null, done = imp.done,
    total = imp.total, progress = imp.total > 0 and (imp.done * 100 // imp.total) or (imp.status == "done" and 100 or 0),
    counts = rep.counts or {}, planned = rep.planned or {}, notes = json.array(rep.notes or {}),
    problems = json.array(rep.problems or {}), problems_total = rep.problems_total or 0, error = imp.error or json.null,
    runs = imp.runs, created_at = util.format_time(imp.created_at),
    finished_at = imp.finished_at and util.format_time(imp.finished_at) or json.null }
end
M.record_json = record_json

local function truthy(v) return v == "1" or v == "true" or v == "yes" end

local EXAMPLE = table.concat({
  "email,name,job_title,department,location,hire_date,manager_email,roles,kind",
  "ada@example.com,Ada Lovelace,CTO,Engineering,London,2021-03-01,,HR Admin; Tech Admin,employee",
  "grace@example.com,Grace Hopper,Engineer,Engineering,New York,2023-09-15,ada@example.com,,employee",
}, "\n")

local function render(req, data)
  data.title = "Import people"
  data.columns = import.COLUMNS
  data.example = EXAMPLE
  data.errors = data.errors or {}
  data.imports = import.list(10)
  return page.render(req, "people_import", data, { nav = "people" })
end

local function find(id)
  local imp = import.get(id)
  if not imp then errors.not_found("There is no such import.") end
  return imp
end

function M.routes(r)
  r:add{ method = "POST", path = "/api/users/import", auth = "user", perm = "users.import", tx = false,
    handler = function(req)
      local ct = (req.headers["content-type"] or ""):lower()
      if not ct:find("^text/csv") and not ct:find("^text/plain") then
        errors.raise(415, "unsupported_media_type", "Send the file as text/csv (UTF-8).")
      end
      if truthy(web.query(req).dry_run) then
        return web.json(200, report_json(import.check(req.user, req.body or "")))
      end
      local report, id = import.start(req.user, req.body or "", { req = req, via = "api" })
      if not id then import.refuse(report) end
      return web.json(202, { import = record_json(import.get(id)), report = report_json(report) },
        { Location = "/api/users/imports/" .. id })
    end }

  r:add{ method = "GET", path = "/api/users/imports", auth = "user", perm = "users.import",
    handler = function()
      local list = {}
      for i, imp in ipairs(import.list(50)) do list[i] = record_json(imp) end
      return web.json(200, { imports = json.array(list) })
    end }

  r:add{ method = "GET", path = "/api/users/imports/{id:int}", auth = "user", perm = "users.import",
    handler = function(req) return web.json(200, record_json(find(req.params.id))) end }

  r:add{ method = "GET", path = "/people/import", auth = "user", perm = "users.import",
    handler = function(req)
      -- after a check (or a refused import): the text as pasted and the report
      local kept = page.kept(req)
      if not kept then return render(req, { csv = "" }) end
      local extra = type(kept.extra) == "table" and kept.extra or {}
      return render(req, { csv = kept.values.csv or "", report = extra.report, confirmed = extra.confirmed,
        errors = kept.errors })
    end }

  r:add{ method = "POST", path = "/people/import", auth = "user", perm = "users.import", tx = false,
    handler = function(req)
      local f = web.form(req)
      local text = f.csv or ""
      local confirm = f.confirm == "1"
      local ok, report, id = page.form(req, { back = "/people/import", values = { csv = text } }, function()
        if not text:find("%S") then errors.invalid({ csv = "Paste the CSV text first." }, "Paste the CSV text first.") end
        if confirm then return import.start(req.user, text, { req = req, via = "page" }) end
        return import.check(req.user, text)
      end)
      if not ok then return report end
      if id then
        return page.redirect("/people/import/" .. id, "success", "The import is running; this page shows how far it got.")
      end
      page.keep(req, "/people/import", { values = { csv = text }, extra = { report = report, confirmed = confirm } })
      return web.redirect("/people/import#report-title")
    end }

  r:add{ method = "GET", path = "/people/import/{id:int}", auth = "user", perm = "users.import",
    handler = function(req)
      local imp = find(req.params.id)
      return page.render(req, "people_import_show", { title = "Import " .. imp.id, imp = imp }, { nav = "people" })
    end }

  events.hook("admin.tiles", function(e) e.links["users.import"] = { href = "/people/import" } end)
end

return M
