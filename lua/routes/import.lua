-- The user import over HTTP: the JSON API (POST /api/users/import, the CSV as the body) and
-- the page /people/import (check first, then import). services.import does the work.
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

local M = {}

-- The report as JSON (lists stay lists when empty).
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
  return page.render(req, "people_import", data, { nav = "people" })
end

function M.routes(r)
  r:add{ method = "POST", path = "/api/users/import", auth = "user", perm = "users.import",
    handler = function(req)
      local ct = (req.headers["content-type"] or ""):lower()
      if not ct:find("^text/csv") and not ct:find("^text/plain") then
        errors.raise(415, "unsupported_media_type", "Send the file as text/csv (UTF-8).")
      end
      local dry = truthy(web.query(req).dry_run)
      local report = import.run(req.user, req.body or "", { dry_run = dry, req = req, via = "api" })
      if not report.ok and not dry then import.refuse(report) end
      return web.json(200, report_json(report))
    end }

  r:add{ method = "GET", path = "/people/import", auth = "user", perm = "users.import",
    handler = function(req)
      -- after a check (or a refused import): the text as pasted and the report
      local kept = page.kept(req)
      if not kept then return render(req, { csv = "" }) end
      local extra = type(kept.extra) == "table" and kept.extra or {}
      return render(req, { csv = kept.values.csv or "", report = extra.report, confirmed = extra.confirmed,
        errors = kept.errors })
    end }

  r:add{ method = "POST", path = "/people/import", auth = "user", perm = "users.import",
    handler = function(req)
      local f = web.form(req)
      local text = f.csv or ""
      local confirm = f.confirm == "1"
      local ok, report = page.form(req, { back = "/people/import", values = { csv = text } }, function()
        if not text:find("%S") then errors.invalid({ csv = "Paste the CSV text first." }, "Paste the CSV text first.") end
        return import.run(req.user, text, { dry_run = not confirm, req = req, via = "page" })
      end)
      if not ok then return report end
      if confirm and report.ok then
        return page.redirect("/people?status=", "success", ("Import done: %d new, %d updated, %d unchanged, "
          .. "%d reporting line%s set, %d role%s granted."):format(report.created, report.updated, report.unchanged,
          report.managers_set, report.managers_set == 1 and "" or "s", report.roles_granted,
          report.roles_granted == 1 and "" or "s"))
      end
      page.keep(req, "/people/import", { values = { csv = text }, extra = { report = report, confirmed = confirm } })
      return web.redirect("/people/import#report-title")
    end }

  events.hook("admin.tiles", function(e) e.links["users.import"] = { href = "/people/import" } end)
end

return M
