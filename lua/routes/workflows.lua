-- Cycle workflows on the admin pages and in the API: read the built-in and current scripts,
-- edit one, check it in the sandbox, dry-run it against a cycle, save it as a new version
-- (only after a successful check of that very text), pick an older version again.
local web = require "lib.web"
local page = require "lib.page"
local errors = require "lib.errors"
local events = require "lib.events"
local json = require "lib.json"
local util = require "lib.util"
local clock = require "core.clock"
local crypto = require "core.crypto"
local workflows = require "services.workflows"
local settings = require "services.settings"

local M = {}

local PERM = "workflows.edit"
local ORIGIN_LABELS = { builtin = "Built-in", data_folder = "Data folder copy", admin = "Saved on this page" }
M.ORIGIN_LABELS = ORIGIN_LABELS

local function sha(source) return crypto.hex(crypto.sha256(source)) end

local function title_of(name)
  local s = name:gsub("_", " ")
  return util.upper(util.utf8_sub(s, 1, 1)) .. util.utf8_sub(s, 2)
end

-- Plain data of a definition, for the API and the check summary.
local function summary(def)
  local phases, transitions, timeline = {}, {}, {}
  for _, p in ipairs(def.phases) do
    phases[#phases + 1] = { id = p.id, label = p.label, allows = json.array(p.allows_list) }
  end
  for _, t in ipairs(def.transitions) do
    transitions[#transitions + 1] = { from = t.from, to = t.to, by = json.array(t.by), event = t.event, label = t.label,
      at = t.at, offset = t.offset }
  end
  for _, s in ipairs(def.timeline) do
    timeline[#timeline + 1] = { id = s.id, on = s.on, at = s.at, offset = s.offset, to = s.to, cc = s.cc,
      only = s.only_fn and "function" or s.only, template = s.template }
  end
  return { name = def.name, phases = phases, transitions = transitions, timeline = timeline }
end


--- What a dry run against a started cycle says: it keeps its version, which is what was run.
function M.pinned_note(cycle, version_id)
  return ("“%s” started with version %d and keeps it: what you dry-run here applies to cycles that start after "
    .. "it is saved. Below is what version %d sends for this cycle."):format(cycle.name, version_id, version_id)
end

-- JSON for dry-run items (lists marked as arrays).
local function items_json(items)
  for _, it in ipairs(items) do it.recipients = json.array(it.recipients) end
  return json.array(items)
end

-- ------------------------------------------------------------------ pages

local function editor_data(name, extra)
  local current = workflows.current_version(name)
  local kind = workflows.kind_of(name)
  local data = {
    title = title_of(name) .. " workflow",
    name = name,
    current = current,
    builtin = workflows.builtin_source(name),
    copy = workflows.data_folder_copy(name),
    copy_path = workflows.data_folder_path(name),
    versions = workflows.versions(name),
    cycles = workflows.cycle_choices(name),
    kind = kind,
    origin_labels = ORIGIN_LABELS,
    anchors = kind.anchor_order,
    roles = workflows.ROLES,
    groups = kind.group_order,
    filters = kind.filter_order,
    filter_labels = {},
    send_hour = settings.get("notifications.send_hour"), time_zone = settings.get("company.time_zone"),
    pinned_note = M.pinned_note,
  }
  for k, f in pairs(kind.filters) do data.filter_labels[k] = f.label end
  data.source = current.source
  for k, v in pairs(extra or {}) do data[k] = v end
  return data
end

local function render_editor(req, name, extra)
  return page.render(req, "workflow_edit", editor_data(name, extra), { nav = "admin", wide = true })
end

-- Check (and dry-run) of the text typed into the editor: what the editor shows next to it.
local function check_typed(name, v)
  local source = v.source or ""
  local extra = { source = source, cycle_id = tonumber(v.cycle_id), note = v.note }
  local started = clock.mono_ms()
  local def, errs = workflows.validate(source, name)
  if not def then
    extra.result = { kind = "check", ok = false, errors = errs }
    return extra
  end
  extra.checked = sha(source)
  extra.result = { kind = "check", ok = true, summary = summary(def), ms = clock.mono_ms() - started }
  if v.action == "dry_run" then
    local cycle = workflows.find_cycle(name, v.cycle_id)
    if not cycle then
      extra.result.dry_error = "Choose a cycle to dry-run the workflow against."
      return extra
    end
    local items, problems, ran = workflows.dry_run(source, cycle)
    extra.result = { kind = "dry_run", ok = true, items = items, problems = problems, cycle = cycle,
      ms = clock.mono_ms() - started, summary = extra.result.summary, pinned = ran and ran.version_id }
  end
  return extra
end

function M.routes(r)
  r:add{ method = "GET", path = "/admin/workflows", auth = "user", perm = PERM,
    handler = function(req, app)
      local list = {}
      for _, name in ipairs(workflows.names()) do
        local current = workflows.current_version(name)
        local vs = workflows.versions(name)
        local running = 0
        for _, v in ipairs(vs) do running = running + #v.cycles end
        list[#list + 1] = { name = name, title = title_of(name), current = current, versions = #vs, cycles = running,
          copy = workflows.data_folder_copy(name) }
      end
      return page.render(req, "workflow_index", { title = "Cycle workflows", workflows = list,
        origin_labels = ORIGIN_LABELS, data_dir = app.data_dir }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/workflows/{name}", auth = "user", perm = PERM,
    handler = function(req)
      local name = req.params.name
      local q = web.query(req)
      local extra = {}
      local kept = page.kept(req)
      if kept then
        -- after Check, Dry run or a refused save: the typed text with its check
        extra = check_typed(name, kept.values)
      elseif q.from then
        local v = workflows.version(name, math.tointeger(tonumber(q.from)) or 0)
        if v then extra.source = v.source; extra.loaded = v.id end
      elseif q.builtin then
        extra.source = workflows.builtin_source(name)
        extra.loaded = "builtin"
      end
      return render_editor(req, name, extra)
    end }

  r:add{ method = "POST", path = "/admin/workflows/{name}", auth = "user", perm = PERM,
    handler = function(req)
      local name = req.params.name
      workflows.builtin_source(name) -- 404 for unknown names
      local f = web.form(req)
      local source = (f.source or ""):gsub("\r\n", "\n")
      local action = f.action or "check"
      local back = "/admin/workflows/" .. name
      local typed = { source = source, cycle_id = f.cycle_id, note = f.note, action = action }
      if action == "check" or action == "dry_run" then
        -- the editor's page runs the check on what was typed (a reload of it does not post again)
        page.keep(req, back, { values = typed })
        return web.redirect(back .. "#result")
      elseif action == "save" then
        typed.action = "check"
        local ok, row, new = page.form(req, { back = back, values = typed }, function()
          if f.checked ~= sha(source) then
            errors.invalid({ source = "Check the script (or dry-run it) before saving: the text changed since the last check." },
              "Check the script (or dry-run it) before saving: the text changed since the last check.")
          end
          if not workflows.validate(source, name) then
            errors.invalid({ source = "The script has problems (listed below)." }, "Nothing was saved: the script has problems.")
          end
          return workflows.save_version(name, source, util.trim(f.note or ""), req.user)
        end)
        if not ok then return row end
        return page.redirect("/admin/workflows/" .. name, "success", new
          and ("Saved as version %d. New cycles use it; running cycles keep their version."):format(row.id)
          or ("This text is version %d already; new cycles use it now."):format(row.id))
      end
      errors.bad_request("Unknown action.")
    end }

  r:add{ method = "GET", path = "/admin/workflows/{name}/versions/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      local name = req.params.name
      local v = workflows.version(name, req.params.id)
      if not v then errors.not_found("There is no such version of this workflow.") end
      local current = workflows.current_version(name)
      return page.render(req, "workflow_version", { title = ("%s workflow, version %d"):format(title_of(name), v.id),
        name = name, v = v, is_current = current.id == v.id, origin_labels = ORIGIN_LABELS }, { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/workflows/{name}/versions/{id:int}/use", auth = "user", perm = PERM,
    handler = function(req)
      local name = req.params.name
      local id = req.params.id
      workflows.use_version(name, id, req.user)
      return page.redirect("/admin/workflows/" .. name, "success",
        ("New cycles use version %d from now on. Running cycles keep their version."):format(id))
    end }

  r:add{ method = "POST", path = "/admin/workflows/{name}/reset", auth = "user", perm = PERM,
    handler = function(req)
      local name = req.params.name
      workflows.use_version(name, 0, req.user)
      local v = workflows.current_version(name)
      return page.redirect("/admin/workflows/" .. name, "success",
        ("New cycles use the %s from now on (version %d)."):format(
          v.origin == "data_folder" and "data folder copy" or "built-in workflow", v.id))
    end }

  -- ---------------------------------------------------------------- API

  r:add{ method = "GET", path = "/api/workflows/{name}", auth = "user", perm = PERM,
    handler = function(req)
      local name = req.params.name
      local current = workflows.current_version(name)
      local builtin = workflows.builtin_source(name)
      local copy = workflows.data_folder_copy(name)
      local list = {}
      for _, v in ipairs(workflows.versions(name)) do
        list[#list + 1] = { id = v.id, origin = v.origin, note = v.note, sha256 = v.sha256,
          created_at = util.format_time(v.created_at), created_by = v.created_by, cycles = json.array(v.cycles) }
      end
      return web.json(200, {
        name = name,
        current = { id = current.id, origin = current.origin, sha256 = current.sha256, note = current.note,
          created_at = util.format_time(current.created_at), source = current.source,
          definition = summary(workflows.definition(current.id)) },
        builtin = { source = builtin, sha256 = sha(builtin) },
        data_folder = copy and { path = copy.path, valid = copy.valid, sha256 = copy.sha,
          errors = json.array(copy.errors or {}) } or nil,
        versions = json.array(list),
      })
    end }

  r:add{ method = "POST", path = "/api/workflows/{name}/check", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local name = req.params.name
      workflows.builtin_source(name)
      local body = web.body(req)
      if type(body.source) ~= "string" then errors.invalid({ source = "the script text is required" }) end
      local started = clock.mono_ms()
      local def, errs = workflows.validate(body.source, name)
      local ms = clock.mono_ms() - started
      if not def then return web.json(200, { valid = false, errors = json.array(errs), ms = ms }) end
      return web.json(200, { valid = true, errors = json.array({}), sha256 = sha(body.source), definition = summary(def),
        ms = ms })
    end }

  r:add{ method = "POST", path = "/api/workflows/{name}/dry-run", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local name = req.params.name
      workflows.builtin_source(name)
      local body = web.body(req)
      local cycle = workflows.find_cycle(name, body.cycle_id)
      if not cycle then errors.invalid({ cycle_id = "no such cycle" }, "Give the cycle_id of an existing cycle.") end
      local what = body.source
      if what == nil and body.version_id ~= nil then
        what = math.tointeger(tonumber(body.version_id))
        if not what or not workflows.version(name, what) then
          errors.invalid({ version_id = "no such version" })
        end
      elseif what == nil then
        what = workflows.current_version(name).id
      end
      if type(what) ~= "string" and type(what) ~= "number" then errors.invalid({ source = "must be the script text" }) end
      local started = clock.mono_ms()
      if type(what) == "string" then
        -- checked first, also when the cycle runs its own version (which is what is dry-run then)
        local def, problems = workflows.validate(what, name)
        if not def then
          errors.raise(422, "invalid", "The workflow has problems: " .. table.concat(problems, "; "), { details = problems })
        end
      end
      local items, errs, ran = workflows.dry_run(what, cycle)
      if not items then
        errors.raise(422, "invalid", "The workflow has problems: " .. table.concat(errs, "; "), { details = errs })
      end
      local out = { cycle = { id = cycle.id, name = cycle.name, phase = cycle.phase },
        items = items_json(items), problems = json.array(errs or {}), ms = clock.mono_ms() - started,
        version_id = ran and ran.version_id or (type(what) == "number" and what or json.null) }
      if ran and ran.version_id ~= what then out.note = M.pinned_note(cycle, ran.version_id) end
      return web.json(200, out)
    end }

  -- no transaction around it: the script runs in a worker while the server serves others; the
  -- service saves in a transaction of its own
  r:add{ method = "PUT", path = "/api/workflows/{name}", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local name = req.params.name
      local body = web.body(req)
      if type(body.source) ~= "string" then errors.invalid({ source = "the script text is required" }) end
      if body.note ~= nil and type(body.note) ~= "string" then errors.invalid({ note = "must be text" }) end
      local row, new = workflows.save_version(name, body.source, body.note, req.user)
      return web.json(new and 201 or 200, { id = row.id, name = row.name, origin = row.origin, sha256 = row.sha256,
        note = row.note, created_at = util.format_time(row.created_at), new = new, current = true })
    end }

  events.hook("admin.tiles", function(e) e.links[PERM] = { href = "/admin/workflows" } end)
end

return M
