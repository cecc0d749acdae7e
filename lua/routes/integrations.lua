-- Integrations for Tech Admins (admin.integrations): the overview page; webhooks — their JSON
-- API under /api/webhooks and their pages under /admin/webhooks; hooks — /api/hooks and
-- /admin/hooks (docs/api.md, docs/hooks.md). The rules live in services/webhooks.lua,
-- services/hooks.lua and services/event_feed.lua.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local access = require "services.access"
local settings = require "services.settings"
local delivery = require "services.delivery"
local event_feed = require "services.event_feed"
local webhooks = require "services.webhooks"
local hooks = require "services.hooks"

local M = {}

local PERM = "admin.integrations"

local function null(v) if v == nil then return json.null end return v end
local function iso(ts) return ts and util.format_time(ts) or json.null end

local function fmt_time(ts) return dates.format_time(ts, { seconds = true }) end

local STATUS_BADGE = { pending = "badge-brand", delivered = "badge-ok", ok = "badge-ok", failed = "badge-bad",
  skipped = "badge-muted" }
local STATUS_LABEL = { pending = "Waiting", delivered = "Delivered", ok = "Done", failed = "Failed", skipped = "Skipped" }

local function helpers(data)
  data.fmt_time, data.status_badge, data.status_label = fmt_time, STATUS_BADGE, STATUS_LABEL
  data.truncate = util.truncate
  return data
end

local function webhook_json(w)
  return { id = w.id, name = w.name, url = w.url, events = json.array(w.events), enabled = w.enabled,
    owner = w.owner_id and { id = w.owner_id, name = null(w.owner_name) } or json.null,
    created_at = iso(w.created_at), updated_at = iso(w.updated_at),
    deliveries = w.counts or nil }
end

local function delivery_json(d, with_body)
  local out = { id = d.id, delivery_id = d.uid, event = d.event, status = d.status, attempts = d.attempts,
    created_at = iso(d.created_at), last_attempt_at = iso(d.last_attempt_at), delivered_at = iso(d.delivered_at),
    next_attempt_at = d.status == "pending" and iso(d.next_attempt_at) or json.null,
    response_status = null(d.response_status), response_excerpt = null(d.response_excerpt), error = null(d.error),
    duration_ms = null(d.duration_ms) }
  if with_body then out.body = json.decode(d.body) end
  return out
end

local function status_filter(req, statuses)
  statuses = statuses or webhooks.STATUSES
  local s = web.query(req).status
  if not s or s == "" then return nil end
  for _, v in ipairs(statuses) do if v == s then return s end end
  errors.bad_request("status must be one of: " .. table.concat(statuses, ", "))
end

-- The offered events by area, with what the owner needs, for the form's reference.
local function event_reference()
  local by_area, areas = {}, {}
  for _, name in ipairs(event_feed.NAMES) do
    local area = name:match("^([^.]+)")
    if not by_area[area] then
      by_area[area] = { area = area, needs = event_feed.AREAS[area].needs, names = {} }
      areas[#areas + 1] = by_area[area]
    end
    local list = by_area[area].names
    list[#list + 1] = name
  end
  return areas
end

-- ---------------------------------------------------------------- API
local function network_answer(changes)
  local names = {}
  for k in pairs(changes or {}) do names[#names + 1] = k end
  table.sort(names)
  return { settings = event_feed.network(), changed = json.array(names) }
end

local function api_routes(r)
  r:add{ method = "GET", path = "/api/settings/integrations", auth = "user", perm = PERM,
    handler = function() return web.json(200, event_feed.network()) end }

  r:add{ method = "PUT", path = "/api/settings/integrations", auth = "user", perm = PERM,
    handler = function(req)
      return web.json(200, network_answer(event_feed.save_network(req.user, web.body(req), req)))
    end }

  r:add{ method = "GET", path = "/api/webhooks", auth = "user", perm = PERM,
    handler = function()
      local list = {}
      for i, w in ipairs(webhooks.list()) do list[i] = webhook_json(w) end
      return web.json(200, { webhooks = json.array(list) })
    end }

  r:add{ method = "GET", path = "/api/webhooks/events", auth = "user", perm = PERM,
    handler = function()
      local list = {}
      for i, a in ipairs(event_reference()) do list[i] = { area = a.area, needs = a.needs, events = a.names } end
      return web.json(200, { areas = list })
    end }

  r:add{ method = "POST", path = "/api/webhooks", auth = "user", perm = PERM,
    handler = function(req)
      local w, secret = webhooks.create(req.user, web.body(req), req)
      local out = webhook_json(w)
      out.secret = secret
      return web.json(201, out)
    end }

  r:add{ method = "GET", path = "/api/webhooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, webhook_json(webhooks.get(req.params.id))) end }

  r:add{ method = "PATCH", path = "/api/webhooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, webhook_json(webhooks.update(req.user, req.params.id, web.body(req), req))) end }

  r:add{ method = "DELETE", path = "/api/webhooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      webhooks.delete(req.user, req.params.id, req)
      return web.no_content()
    end }

  r:add{ method = "POST", path = "/api/webhooks/{id:int}/secret", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, { secret = webhooks.rotate_secret(req.user, req.params.id, req) }) end }

  r:add{ method = "POST", path = "/api/webhooks/{id:int}/ping", auth = "user", perm = PERM, tx = false,
    handler = function(req) return web.json(200, delivery_json(webhooks.ping(req.user, req.params.id), true)) end }

  r:add{ method = "GET", path = "/api/webhooks/{id:int}/deliveries", auth = "user", perm = PERM,
    handler = function(req)
      local res = webhooks.deliveries(req.params.id, { status = status_filter(req), page = web.query(req).page })
      local list = {}
      for i, d in ipairs(res.deliveries) do list[i] = delivery_json(d) end
      return web.json(200, { deliveries = json.array(list), total = res.total, page = res.page, pages = res.pages })
    end }

  r:add{ method = "GET", path = "/api/webhooks/{id:int}/deliveries/{delivery:int}", auth = "user", perm = PERM,
    handler = function(req)
      return web.json(200, delivery_json(webhooks.delivery(req.params.id, req.params.delivery), true))
    end }

  r:add{ method = "POST", path = "/api/webhooks/{id:int}/deliveries/{delivery:int}/redeliver", auth = "user",
    perm = PERM,
    handler = function(req)
      return web.json(200, delivery_json(webhooks.redeliver(req.user, req.params.id, req.params.delivery, req), true))
    end }
end

-- ---------------------------------------------------------------- pages
local function form_page(req, w)
  local kept = page.kept(req)
  local values = kept and next(kept.values) and kept.values or nil
  if not values then
    values = w and { name = w.name, url = w.url, events = table.concat(w.events, ", "), enabled = w.enabled }
      or { name = "", url = "", events = "", enabled = true }
  end
  return page.render(req, "webhook_form", helpers{ title = w and ("Edit " .. w.name) or "New webhook", w = w,
    values = values, errors = kept and kept.errors or {}, areas = event_reference() }, { nav = "admin" })
end

local function form_input(req)
  local f = web.form(req)
  return { name = f.name, url = f.url, events = f.events, enabled = f.enabled == "on" }
end

local function page_routes(r)
  r:add{ method = "GET", path = "/admin/integrations", auth = "user", perm = PERM,
    handler = function(req)
      return page.render(req, "admin_integrations", helpers{ title = "Integrations", mail = delivery.get_settings(),
        webhooks = webhooks.list(), hooks = hooks.list(), can_tokens = access.can(req.user, "admin.api_tokens"),
        can_sftp = access.can(req.user, "users.sftp"), sftp_on = settings.get("sftp.enabled"),
        network = event_feed.network() }, { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/integrations/network", auth = "user", perm = PERM,
    handler = function(req)
      local f = web.form(req)
      local changes = event_feed.save_network(req.user, { allow_loopback = f.allow_loopback == "on",
        allow_private_networks = f.allow_private_networks == "on" }, req)
      return page.redirect("/admin/integrations", "success",
        next(changes) and "Network settings saved." or "Nothing changed.")
    end }

  r:add{ method = "GET", path = "/admin/webhooks", auth = "user", perm = PERM,
    handler = function(req)
      return page.render(req, "webhooks_list", helpers{ title = "Webhooks", webhooks = webhooks.list() }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/webhooks/new", auth = "user", perm = PERM,
    handler = function(req) return form_page(req, nil) end }

  r:add{ method = "POST", path = "/admin/webhooks", auth = "user", perm = PERM,
    handler = function(req)
      local input = form_input(req)
      local ok, w, secret = page.form(req, { back = "/admin/webhooks/new", values = input }, webhooks.create,
        req.user, input, req)
      if not ok then return w end
      -- the secret is shown once, on the page the browser lands on
      page.keep(req, "/admin/webhooks/" .. w.id, { extra = { secret = secret, created = true } })
      return web.redirect("/admin/webhooks/" .. w.id)
    end }

  r:add{ method = "GET", path = "/admin/webhooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      local w = webhooks.get(req.params.id)
      local q = web.query(req)
      local f = { status = status_filter(req), page = q.page }
      local res = webhooks.deliveries(w.id, f)
      local kept = page.kept(req)
      return page.render(req, "webhook_show", helpers{ title = w.name, w = w, res = res, f = f,
        statuses = webhooks.STATUSES, shown = kept and kept.extra }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/webhooks/{id:int}/edit", auth = "user", perm = PERM,
    handler = function(req) return form_page(req, webhooks.get(req.params.id)) end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      local id = req.params.id
      local input = form_input(req)
      local ok, res = page.form(req, { back = "/admin/webhooks/" .. id .. "/edit", values = input }, webhooks.update,
        req.user, id, input, req)
      if not ok then return res end
      return page.redirect("/admin/webhooks/" .. id, "success", "Webhook saved. Its deliveries show what you may see.")
    end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}/delete", auth = "user", perm = PERM,
    handler = function(req)
      local w = webhooks.get(req.params.id)
      webhooks.delete(req.user, w.id, req)
      return page.redirect("/admin/webhooks", "success", ("The webhook \"%s\" was removed."):format(w.name))
    end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}/secret", auth = "user", perm = PERM,
    handler = function(req)
      local id = req.params.id
      local secret = webhooks.rotate_secret(req.user, id, req)
      page.keep(req, "/admin/webhooks/" .. id, { extra = { secret = secret } })
      return web.redirect("/admin/webhooks/" .. id)
    end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}/ping", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local id = req.params.id
      local d = webhooks.ping(req.user, id)
      local ok = d.status == "delivered"
      return page.redirect("/admin/webhooks/" .. id .. "/deliveries/" .. d.id, ok and "success" or "error",
        ok and ("The receiver answered %d."):format(d.response_status)
          or ("The ping was not delivered: %s"):format(d.error or "no answer"))
    end }

  r:add{ method = "GET", path = "/admin/webhooks/{id:int}/deliveries/{delivery:int}", auth = "user", perm = PERM,
    handler = function(req)
      local w = webhooks.get(req.params.id)
      local d = webhooks.delivery(w.id, req.params.delivery)
      local body = json.decode(d.body)
      return page.render(req, "webhook_delivery", helpers{ title = d.event .. " · " .. w.name, w = w, d = d,
        pretty = json.encode(body) }, { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}/deliveries/{delivery:int}/redeliver", auth = "user",
    perm = PERM,
    handler = function(req)
      local id, did = req.params.id, req.params.delivery
      local back = "/admin/webhooks/" .. id .. "/deliveries/" .. did
      local ok, res = page.form(req, back, webhooks.redeliver, req.user, id, did, req)
      if not ok then return res end
      return page.redirect(back, "success", "It goes out again in a moment.")
    end }
end


-- ---------------------------------------------------------------- hooks
local function hook_json(h, with_source)
  local out = { id = h.id, name = h.name, events = json.array(h.events), allow_hosts = json.array(h.allow_hosts),
    version = h.version, enabled = h.enabled, disabled_reason = null(h.disabled_reason), failures = h.failures,
    owner = h.owner_id and { id = h.owner_id, name = null(h.owner_name) } or json.null,
    created_at = iso(h.created_at), updated_at = iso(h.updated_at), runs = h.counts or nil }
  if with_source then out.source = h.source end
  return out
end

local function run_json(r, full)
  local out = { id = r.id, event = r.event, status = r.status, attempts = r.attempts, version = null(r.version),
    created_at = iso(r.created_at), started_at = iso(r.started_at), finished_at = iso(r.finished_at),
    duration_ms = null(r.duration_ms), http_status = null(r.http_status), error = null(r.error) }
  if full then
    out.data, out.log, out.calls = r.data, json.array(r.log), json.array(r.calls)
  end
  return out
end

local function test_json(o)
  local calls = {}
  for i, c in ipairs(o.calls) do
    calls[i] = { method = c.method, url = c.url, headers = c.headers, body = null(c.body), status = null(c.status),
      error = null(c.error), sent = not c.dry, ms = null(c.ms) }
  end
  return { ok = o.ok, error = null(o.error), mode = o.mode, event = { name = o.event.name, data = o.event.data },
    log = json.array(o.logs), calls = json.array(calls), http_status = null(o.http_status), duration_ms = o.duration_ms }
end

local function hook_api_routes(r)
  r:add{ method = "GET", path = "/api/hooks", auth = "user", perm = PERM,
    handler = function()
      local list = {}
      for i, h in ipairs(hooks.list()) do list[i] = hook_json(h) end
      return web.json(200, { hooks = json.array(list) })
    end }

  r:add{ method = "POST", path = "/api/hooks", auth = "user", perm = PERM,
    handler = function(req) return web.json(201, hook_json(hooks.create(req.user, web.body(req), req), true)) end }

  r:add{ method = "POST", path = "/api/hooks/check", auth = "user", perm = PERM,
    handler = function(req)
      local res = hooks.check(web.body(req).source)
      return web.json(200, { valid = res.valid, problem = null(res.problem) })
    end }

  r:add{ method = "GET", path = "/api/hooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, hook_json(hooks.get(req.params.id), true)) end }

  r:add{ method = "PATCH", path = "/api/hooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, hook_json(hooks.update(req.user, req.params.id, web.body(req), req), true)) end }

  r:add{ method = "DELETE", path = "/api/hooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      hooks.delete(req.user, req.params.id, req)
      return web.no_content()
    end }

  r:add{ method = "GET", path = "/api/hooks/{id:int}/versions", auth = "user", perm = PERM,
    handler = function(req)
      local list = {}
      for i, v in ipairs(hooks.versions(req.params.id)) do
        list[i] = { version = v.version, note = null(v.note), saved_at = iso(v.saved_at), saved_by = null(v.saved_by_name) }
      end
      return web.json(200, { versions = json.array(list) })
    end }

  r:add{ method = "GET", path = "/api/hooks/{id:int}/versions/{version:int}", auth = "user", perm = PERM,
    handler = function(req)
      local v = hooks.version(req.params.id, req.params.version)
      return web.json(200, { version = v.version, source = v.source, note = null(v.note), saved_at = iso(v.saved_at),
        saved_by = null(v.saved_by_name) })
    end }

  r:add{ method = "GET", path = "/api/hooks/{id:int}/secrets", auth = "user", perm = PERM,
    handler = function(req)
      local list = {}
      for i, sct in ipairs(hooks.secret_names(req.params.id)) do
        list[i] = { name = sct.name, updated_at = iso(sct.updated_at), updated_by = null(sct.updated_by_name) }
      end
      return web.json(200, { secrets = json.array(list) })
    end }

  r:add{ method = "PUT", path = "/api/hooks/{id:int}/secrets/{name}", auth = "user", perm = PERM,
    handler = function(req)
      hooks.set_secret(req.user, req.params.id, req.params.name, web.body(req).value, req)
      return web.no_content()
    end }

  r:add{ method = "DELETE", path = "/api/hooks/{id:int}/secrets/{name}", auth = "user", perm = PERM,
    handler = function(req)
      hooks.delete_secret(req.user, req.params.id, req.params.name, req)
      return web.no_content()
    end }

  r:add{ method = "GET", path = "/api/hooks/{id:int}/runs", auth = "user", perm = PERM,
    handler = function(req)
      local res = hooks.runs(req.params.id, { status = status_filter(req, hooks.STATUSES), page = web.query(req).page })
      local list = {}
      for i, x in ipairs(res.runs) do list[i] = run_json(x) end
      return web.json(200, { runs = json.array(list), total = res.total, page = res.page, pages = res.pages })
    end }

  r:add{ method = "GET", path = "/api/hooks/{id:int}/runs/{run:int}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, run_json(hooks.run(req.params.id, req.params.run), true)) end }

  r:add{ method = "POST", path = "/api/hooks/{id:int}/test", auth = "user", perm = PERM, tx = false,
    handler = function(req) return web.json(200, test_json(hooks.test(req.user, req.params.id, web.body(req)))) end }
end

local function hook_event_names()
  return event_feed.NAMES
end

local function hook_form_page(req, h)
  local kept = page.kept(req)
  local values = kept and next(kept.values) and kept.values or nil
  if not values then
    values = h and { name = h.name, events = table.concat(h.events, ", "), allow_hosts = table.concat(h.allow_hosts, ", "),
      source = h.source, enabled = h.enabled }
      or { name = "", events = "", allow_hosts = "", enabled = true,
        source = "-- Runs after each event it is bound to, with event.name and event.data.\nreturn function(event)\n"
          .. "  log(\"got\", event.name)\nend\n" }
  end
  return page.render(req, "hook_form", helpers{ title = h and ("Edit " .. h.name) or "New hook", h = h,
    values = values, errors = kept and kept.errors or {}, check = kept and kept.extra and kept.extra.check,
    areas = event_reference() }, { nav = "admin" })
end

local function hook_input(req)
  local f = web.form(req)
  return { name = f.name, events = f.events, allow_hosts = f.allow_hosts, source = f.source, note = f.note,
    enabled = f.enabled == "on" }
end

local function hook_page_routes(r)
  r:add{ method = "GET", path = "/admin/hooks", auth = "user", perm = PERM,
    handler = function(req)
      return page.render(req, "hooks_list", helpers{ title = "Hooks", hooks = hooks.list() }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/hooks/new", auth = "user", perm = PERM,
    handler = function(req) return hook_form_page(req, nil) end }

  r:add{ method = "POST", path = "/admin/hooks", auth = "user", perm = PERM,
    handler = function(req)
      local input = hook_input(req)
      local ok, h = page.form(req, { back = "/admin/hooks/new", values = input }, hooks.create, req.user, input, req)
      if not ok then return h end
      return page.redirect("/admin/hooks/" .. h.id, "success", "Hook saved. It runs for the events it names.")
    end }

  -- Check (the form's other button): the result shown on the form, what was typed kept
  for _, path in ipairs({ "/admin/hooks/new/check", "/admin/hooks/{id:int}/check" }) do
    r:add{ method = "POST", path = path, auth = "user", perm = PERM,
      handler = function(req)
        local input = hook_input(req)
        local back = req.params.id and ("/admin/hooks/" .. req.params.id .. "/edit") or "/admin/hooks/new"
        if req.params.id then hooks.get(req.params.id) end
        page.keep(req, back, { values = input, extra = { check = hooks.check(input.source) } })
        return web.redirect(back)
      end }
  end

  r:add{ method = "GET", path = "/admin/hooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      local h = hooks.get(req.params.id)
      local f = { status = status_filter(req, hooks.STATUSES), page = web.query(req).page }
      local kept = page.kept(req)
      return page.render(req, "hook_show", helpers{ title = h.name, h = h, res = hooks.runs(h.id, f), f = f,
        statuses = hooks.STATUSES, secrets = hooks.secret_names(h.id), versions = hooks.versions(h.id),
        test = kept and kept.extra and kept.extra.test, test_values = kept and kept.values or {},
        errors = kept and kept.errors or {}, event_names = hook_event_names() }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/hooks/{id:int}/edit", auth = "user", perm = PERM,
    handler = function(req) return hook_form_page(req, hooks.get(req.params.id)) end }

  r:add{ method = "POST", path = "/admin/hooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      local id = req.params.id
      local input = hook_input(req)
      local ok, res = page.form(req, { back = "/admin/hooks/" .. id .. "/edit", values = input }, hooks.update,
        req.user, id, input, req)
      if not ok then return res end
      return page.redirect("/admin/hooks/" .. id, "success", "Hook saved.")
    end }

  r:add{ method = "POST", path = "/admin/hooks/{id:int}/enabled", auth = "user", perm = PERM,
    handler = function(req)
      local id = req.params.id
      local on = web.form(req).enabled == "on"
      hooks.update(req.user, id, { enabled = on }, req)
      return page.redirect("/admin/hooks/" .. id, "success", on and "The hook is enabled." or "The hook is disabled.")
    end }

  r:add{ method = "POST", path = "/admin/hooks/{id:int}/delete", auth = "user", perm = PERM,
    handler = function(req)
      local h = hooks.get(req.params.id)
      hooks.delete(req.user, h.id, req)
      return page.redirect("/admin/hooks", "success", ("The hook \"%s\" was removed."):format(h.name))
    end }

  r:add{ method = "POST", path = "/admin/hooks/{id:int}/secrets", auth = "user", perm = PERM,
    handler = function(req)
      local id = req.params.id
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/admin/hooks/" .. id, values = { secret_name = f.name } },
        hooks.set_secret, req.user, id, f.name, f.value, req)
      if not ok then return res end
      return page.redirect("/admin/hooks/" .. id, "success", ("The secret %s is saved (it is never shown)."):format(f.name))
    end }

  r:add{ method = "POST", path = "/admin/hooks/{id:int}/secrets/{name}/delete", auth = "user", perm = PERM,
    handler = function(req)
      local id = req.params.id
      local ok, res = page.form(req, "/admin/hooks/" .. id, hooks.delete_secret, req.user, id, req.params.name, req)
      if not ok then return res end
      return page.redirect("/admin/hooks/" .. id, "success", "The secret was removed.")
    end }

  r:add{ method = "POST", path = "/admin/hooks/{id:int}/test", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local id = req.params.id
      local f = web.form(req)
      local input = { event = f.event, data = f.data, run_id = f.run_id, mode = f.mode, url = f.url }
      local ok, res = page.form(req, { back = "/admin/hooks/" .. id, values = input }, hooks.test, req.user, id, input)
      if not ok then return res end
      local calls = {}
      for i, c in ipairs(res.calls) do
        local lines = { c.method .. " " .. c.url }
        local names = {}
        for k in pairs(c.headers or {}) do names[#names + 1] = k end
        table.sort(names)
        for _, k in ipairs(names) do lines[#lines + 1] = k .. ": " .. c.headers[k] end
        if c.body then lines[#lines + 1] = "\n" .. c.body end
        lines[#lines + 1] = "→ " .. tostring(c.status or c.error)
        calls[i] = table.concat(lines, "\n")
      end
      page.keep(req, "/admin/hooks/" .. id, { values = input, extra = { test = { ok = res.ok, error = res.error,
        mode = res.mode, calls = calls, log = res.logs, duration_ms = res.duration_ms } } })
      return web.redirect("/admin/hooks/" .. id .. "#test")
    end }

  r:add{ method = "GET", path = "/admin/hooks/{id:int}/runs/{run:int}", auth = "user", perm = PERM,
    handler = function(req)
      local h = hooks.get(req.params.id)
      local x = hooks.run(h.id, req.params.run)
      return page.render(req, "hook_run", helpers{ title = x.event .. " · " .. h.name, h = h, x = x,
        data = json.encode(x.data) }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/hooks/{id:int}/versions/{version:int}", auth = "user", perm = PERM,
    handler = function(req)
      local h = hooks.get(req.params.id)
      local v = hooks.version(h.id, req.params.version)
      return page.render(req, "hook_version", helpers{ title = h.name .. " · version " .. v.version, h = h, v = v },
        { nav = "admin" })
    end }
end

function M.routes(r)
  api_routes(r)
  page_routes(r)
  hook_api_routes(r)
  hook_page_routes(r)
  events.hook("admin.tiles", function(e)
    e.links["admin.integrations"] = { href = "/admin/integrations" }
  end)
end

return M
