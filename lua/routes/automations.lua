-- Automations (review cycles that create themselves): the JSON API under /api/automations and the
-- pages under /cycles/automations (list with the next run, the form, the page of one with the
-- cycles it created, disabling, deleting with a confirmation). The rules are in
-- services/automations.lua and services/automation_runs.lua.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local events = require "lib.events"
local access = require "services.access"
local directory = require "services.directory"
local cycles = require "services.cycles"
local automations = require "services.automations"
local runs = require "services.automation_runs"

local M = {}

local BASE = "/cycles/automations"

local function id_of(req) return math.tointeger(tonumber(req.params.id)) end

local function null(v) if v == nil then return json.null end return v end

local function automation_json(a, cycles_list)
  local aud = a.audience
  local out = { id = a.id, name = a.name, kind = a.kind, active = a.active,
    template_cycle_id = null(a.template_cycle_id), template_name = null(a.template_name),
    audience = { everyone = aud.everyone == true, departments = json.array(aud.departments or {}),
      locations = json.array(aud.locations or {}), people = json.array(aud.people or {}),
      exclude = json.array(aud.exclude or {}) },
    first_start = null(a.first_start), repeat_months = null(a.repeat_months), repeat_until = null(a.repeat_until),
    offset_amount = null(a.offset_amount), offset_unit = null(a.offset_unit), include_past = a.include_past,
    owner_id = null(a.owner_id), created_by = null(a.created_by), created_at = a.created_at, updated_at = a.updated_at,
    paused_reason = null(a.paused_reason),
    next_run = a.next and { date = a.next.date, what = a.next.what } or json.null }
  if cycles_list then
    out.cycles = json.array(util.map(cycles_list, function(c)
      return { id = c.cycle_id, name = c.name, phase = c.phase, start_date = c.start_date, period = c.period,
        reviewees = c.reviewees }
    end))
  end
  return out
end

-- One automation with what the list shows of it (its next run, its template's name).
local function with_next(a)
  a.next = automations.next_run(a, automations.created_periods(a.id))
  return a
end

-- ------------------------------------------------------------------ the form

local function list_of(v)
  if v == nil or v == "" then return {} end
  if type(v) == "table" then return v end
  return { v }
end

-- A form post's fields -> the input automations.create/update take (people typed are resolved
-- here: a name nobody has is a 422 on its field).
local function form_input(f, editing)
  local input = { name = f.name, template_cycle_id = f.template_cycle_id,
    audience = { everyone = f.audience_mode ~= "some", departments = list_of(f.departments),
      locations = list_of(f.locations), people = directory.people_ids(f.people, "audience"),
      exclude = directory.people_ids(f.exclude, "exclude") },
    repeat_months = f.repeat_months or "0", active = f.active == "on" }
  if not editing then input.kind = f.kind end
  local kind = editing or f.kind
  if kind == "schedule" then
    input.first_start, input.repeat_until = f.first_start, f.repeat_until ~= "" and f.repeat_until or json.null
  elseif kind == "after_hire_date" then
    input.offset_amount, input.offset_unit = f.offset_amount, f.offset_unit
    if not editing then input.include_past = f.include_past == "on" end
  end
  return input
end

local function form_values(a)
  local aud = a.audience
  return { name = a.name, kind = a.kind, template_cycle_id = tostring(a.template_cycle_id or ""),
    audience_mode = aud.everyone and "everyone" or "some", departments = aud.departments or {},
    locations = aud.locations or {}, people = directory.names_of(aud.people or {}),
    exclude = directory.names_of(aud.exclude or {}), first_start = a.first_start, repeat_months = a.repeat_months or 0,
    repeat_until = a.repeat_until, offset_amount = a.offset_amount, offset_unit = a.offset_unit or "days",
    include_past = a.include_past, active = a.active }
end

local function form_page(req, a, values)
  local kept = page.kept(req)
  if kept then
    values = kept.values
    values.active, values.include_past = values.active == "on", values.include_past == "on"
    values.departments, values.locations = list_of(values.departments), list_of(values.locations)
  end
  local set = function(list)
    local s = {}
    for _, x in ipairs(list or {}) do s[x] = true end
    return s
  end
  local facets = automations.audience_choices()
  return page.render(req, "automation_form", { title = a and ("Edit " .. a.name) or "New automation", a = a,
    values = values, errors = kept and kept.errors or {}, templates = automations.template_choices(req.user),
    departments = facets.departments, locations = facets.locations, chosen_departments = set(values.departments),
    chosen_locations = set(values.locations), kinds = automations.KINDS,
    days_before = automations.CREATE_DAYS_BEFORE }, { nav = "cycles" })
end

-- ------------------------------------------------------------------ routes

function M.routes(r)
  -- API
  r:add{ method = "GET", path = "/api/automations", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, { automations = json.array(util.map(automations.list(req.user),
        function(a) return automation_json(a) end)) })
    end }
  r:add{ method = "POST", path = "/api/automations", auth = "user", perm = "automations.create",
    handler = function(req)
      local a = with_next(automations.create(req.user, web.body(req), req))
      return web.json(201, automation_json(a, {}), { Location = "/api/automations/" .. a.id })
    end }
  r:add{ method = "GET", path = "/api/automations/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local a = with_next(automations.require(req.user, id_of(req)))
      return web.json(200, automation_json(a, automations.cycles_of(req.user, a.id)))
    end }
  r:add{ method = "PATCH", path = "/api/automations/{id:int}", auth = "user", perm = "automations.edit",
    handler = function(req)
      local a = with_next(automations.update(req.user, id_of(req), web.body(req), req))
      return web.json(200, automation_json(a, automations.cycles_of(req.user, a.id)))
    end }
  for _, x in ipairs({ { "disable", false }, { "enable", true } }) do
    r:add{ method = "POST", path = "/api/automations/{id:int}/" .. x[1], auth = "user", perm = "automations.edit",
      handler = function(req)
        local a = with_next(automations.set_active(req.user, id_of(req), x[2], req))
        return web.json(200, automation_json(a))
      end }
  end
  r:add{ method = "DELETE", path = "/api/automations/{id:int}", auth = "user", perm = "automations.delete",
    handler = function(req)
      automations.delete(req.user, id_of(req), req)
      return web.no_content()
    end }

  -- pages
  r:add{ method = "GET", path = BASE, auth = "user", perm = "object",
    handler = function(req)
      return page.render(req, "automations_list", { title = "Automations", automations = automations.list(req.user),
        can_create = access.can(req.user, "automations.create"), describe_when = automations.describe_when,
        describe_audience = automations.describe_audience, days_before = automations.CREATE_DAYS_BEFORE },
        { nav = "cycles" })
    end }

  r:add{ method = "GET", path = BASE .. "/new", auth = "user", perm = "automations.create",
    handler = function(req)
      return form_page(req, nil, { kind = "schedule", audience_mode = "everyone", repeat_months = 3,
        offset_amount = 90, offset_unit = "days", active = true, departments = {}, locations = {} })
    end }

  r:add{ method = "POST", path = BASE .. "/new", auth = "user", perm = "automations.create",
    handler = function(req)
      local f = web.form(req)
      local ok, a = page.form(req, { back = BASE .. "/new", values = f }, function()
        return automations.create(req.user, form_input(f), req)
      end)
      if not ok then return a end
      return page.redirect(BASE .. "/" .. a.id, "success", "Automation created.")
    end }

  r:add{ method = "GET", path = BASE .. "/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local a = with_next(automations.require(req.user, id_of(req)))
      local template = a.template_cycle_id and cycles.get(a.template_cycle_id)
      return page.render(req, "automation_show", { title = a.name, a = a, template = template,
        created = automations.cycles_of(req.user, a.id), skipped = automations.skipped_of(req.user, a.id),
        when = automations.describe_when(a), audience = automations.describe_audience(a.audience),
        audience_count = runs.audience_count(a.audience), kinds = automations.KINDS,
        can_edit = access.can(req.user, "automations.edit"), can_delete = access.can(req.user, "automations.delete"),
        days_before = automations.CREATE_DAYS_BEFORE }, { nav = "cycles" })
    end }

  r:add{ method = "GET", path = BASE .. "/{id:int}/edit", auth = "user", perm = "automations.edit",
    handler = function(req)
      local a = automations.require(req.user, id_of(req))
      return form_page(req, a, form_values(a))
    end }

  r:add{ method = "POST", path = BASE .. "/{id:int}/edit", auth = "user", perm = "automations.edit",
    handler = function(req)
      local a = automations.require(req.user, id_of(req))
      local f = web.form(req)
      local ok, res = page.form(req, { back = BASE .. "/" .. a.id .. "/edit", values = f }, function()
        return automations.update(req.user, a.id, form_input(f, a.kind), req)
      end)
      if not ok then return res end
      return page.redirect(BASE .. "/" .. a.id, "success", "Saved. Cycles created from now on follow these settings.")
    end }

  r:add{ method = "POST", path = BASE .. "/{id:int}/active", auth = "user", perm = "automations.edit",
    handler = function(req)
      local a = automations.require(req.user, id_of(req))
      local on = web.form(req).active == "1"
      local ok, res = page.form(req, BASE .. "/" .. a.id, automations.set_active, req.user, a.id, on, req)
      if not ok then return res end
      return page.redirect(BASE .. "/" .. a.id, "success", on and "Enabled: it runs as you from now on."
        or "Disabled: it creates and starts nothing until it is enabled again.")
    end }

  r:add{ method = "GET", path = BASE .. "/{id:int}/delete", auth = "user", perm = "automations.delete",
    handler = function(req)
      local a = automations.require(req.user, id_of(req))
      return page.render(req, "automation_delete", { title = "Delete " .. a.name, a = a,
        created = automations.cycles_of(req.user, a.id) }, { nav = "cycles" })
    end }

  r:add{ method = "POST", path = BASE .. "/{id:int}/delete", auth = "user", perm = "automations.delete",
    handler = function(req)
      local a = automations.require(req.user, id_of(req))
      if web.form(req).confirm ~= "yes" then
        return page.redirect(BASE .. "/" .. a.id .. "/delete", "error", "Tick the box to confirm the deletion.")
      end
      local ok, res = page.form(req, BASE .. "/" .. a.id, automations.delete, req.user, a.id, req)
      if not ok then return res end
      return page.redirect(BASE, "success", a.name .. " was deleted. The cycles it created stay.")
    end }

  events.hook("admin.tiles", function(e)
    e.links["automations.create"] = { href = BASE .. "/new" }
    e.links["automations.edit"] = { href = BASE }
    e.links["automations.delete"] = { href = BASE }
  end)
end

return M
