-- Integrations for Tech Admins (admin.integrations): the overview page, and webhooks — their JSON
-- API under /api/webhooks and their pages under /admin/webhooks (docs/api.md, docs/hooks.md).
-- The rules live in services/webhooks.lua and services/event_feed.lua.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local events = require "lib.events"
local access = require "services.access"
local delivery = require "services.delivery"
local event_feed = require "services.event_feed"
local webhooks = require "services.webhooks"

local M = {}

local PERM = "admin.integrations"

local function null(v) if v == nil then return json.null end return v end
local function iso(ts) return ts and util.format_time(ts) or json.null end

local function fmt_time(ts)
  if not ts then return "" end
  return (os.date("!%d %b %Y, %H:%M:%S UTC", ts):gsub("^0", ""))
end

local STATUS_BADGE = { pending = "badge-brand", delivered = "badge-ok", failed = "badge-bad", skipped = "badge-muted" }
local STATUS_LABEL = { pending = "Waiting", delivered = "Delivered", failed = "Failed", skipped = "Skipped" }

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

local function id_of(req, name) return math.tointeger(tonumber(req.params[name or "id"])) end

local function status_filter(req)
  local s = web.query(req).status
  if not s or s == "" then return nil end
  for _, v in ipairs(webhooks.STATUSES) do if v == s then return s end end
  errors.bad_request("status must be one of: " .. table.concat(webhooks.STATUSES, ", "))
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
local function api_routes(r)
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
    handler = function(req) return web.json(200, webhook_json(webhooks.get(id_of(req)))) end }

  r:add{ method = "PATCH", path = "/api/webhooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, webhook_json(webhooks.update(req.user, id_of(req), web.body(req), req))) end }

  r:add{ method = "DELETE", path = "/api/webhooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      webhooks.delete(req.user, id_of(req), req)
      return web.no_content()
    end }

  r:add{ method = "POST", path = "/api/webhooks/{id:int}/secret", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, { secret = webhooks.rotate_secret(req.user, id_of(req), req) }) end }

  r:add{ method = "POST", path = "/api/webhooks/{id:int}/ping", auth = "user", perm = PERM, tx = false,
    handler = function(req) return web.json(200, delivery_json(webhooks.ping(req.user, id_of(req)), true)) end }

  r:add{ method = "GET", path = "/api/webhooks/{id:int}/deliveries", auth = "user", perm = PERM,
    handler = function(req)
      local res = webhooks.deliveries(id_of(req), { status = status_filter(req), page = web.query(req).page })
      local list = {}
      for i, d in ipairs(res.deliveries) do list[i] = delivery_json(d) end
      return web.json(200, { deliveries = json.array(list), total = res.total, page = res.page, pages = res.pages })
    end }

  r:add{ method = "GET", path = "/api/webhooks/{id:int}/deliveries/{delivery:int}", auth = "user", perm = PERM,
    handler = function(req)
      return web.json(200, delivery_json(webhooks.delivery(id_of(req), id_of(req, "delivery")), true))
    end }

  r:add{ method = "POST", path = "/api/webhooks/{id:int}/deliveries/{delivery:int}/redeliver", auth = "user",
    perm = PERM,
    handler = function(req)
      return web.json(200, delivery_json(webhooks.redeliver(req.user, id_of(req), id_of(req, "delivery"), req), true))
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
        webhooks = webhooks.list(), can_tokens = access.can(req.user, "admin.api_tokens") }, { nav = "admin" })
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
      local w = webhooks.get(id_of(req))
      local q = web.query(req)
      local f = { status = status_filter(req), page = q.page }
      local res = webhooks.deliveries(w.id, f)
      local kept = page.kept(req)
      return page.render(req, "webhook_show", helpers{ title = w.name, w = w, res = res, f = f,
        statuses = webhooks.STATUSES, shown = kept and kept.extra }, { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/webhooks/{id:int}/edit", auth = "user", perm = PERM,
    handler = function(req) return form_page(req, webhooks.get(id_of(req))) end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      local id = id_of(req)
      local input = form_input(req)
      local ok, res = page.form(req, { back = "/admin/webhooks/" .. id .. "/edit", values = input }, webhooks.update,
        req.user, id, input, req)
      if not ok then return res end
      return page.redirect("/admin/webhooks/" .. id, "success", "Webhook saved. Its deliveries show what you may see.")
    end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}/delete", auth = "user", perm = PERM,
    handler = function(req)
      local w = webhooks.get(id_of(req))
      webhooks.delete(req.user, w.id, req)
      return page.redirect("/admin/webhooks", "success", ("The webhook \"%s\" was removed."):format(w.name))
    end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}/secret", auth = "user", perm = PERM,
    handler = function(req)
      local id = id_of(req)
      local secret = webhooks.rotate_secret(req.user, id, req)
      page.keep(req, "/admin/webhooks/" .. id, { extra = { secret = secret } })
      return web.redirect("/admin/webhooks/" .. id)
    end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}/ping", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local id = id_of(req)
      local d = webhooks.ping(req.user, id)
      local ok = d.status == "delivered"
      return page.redirect("/admin/webhooks/" .. id .. "/deliveries/" .. d.id, ok and "success" or "error",
        ok and ("The receiver answered %d."):format(d.response_status)
          or ("The ping was not delivered: %s"):format(d.error or "no answer"))
    end }

  r:add{ method = "GET", path = "/admin/webhooks/{id:int}/deliveries/{delivery:int}", auth = "user", perm = PERM,
    handler = function(req)
      local w = webhooks.get(id_of(req))
      local d = webhooks.delivery(w.id, id_of(req, "delivery"))
      local body = json.decode(d.body)
      return page.render(req, "webhook_delivery", helpers{ title = d.event .. " · " .. w.name, w = w, d = d,
        pretty = json.encode(body) }, { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/webhooks/{id:int}/deliveries/{delivery:int}/redeliver", auth = "user",
    perm = PERM,
    handler = function(req)
      local id, did = id_of(req), id_of(req, "delivery")
      local back = "/admin/webhooks/" .. id .. "/deliveries/" .. did
      local ok, res = page.form(req, back, webhooks.redeliver, req.user, id, did, req)
      if not ok then return res end
      return page.redirect(back, "success", "It goes out again in a moment.")
    end }
end

function M.routes(r)
  api_routes(r)
  page_routes(r)
  events.hook("admin.tiles", function(e)
    e.links["admin.integrations"] = { href = "/admin/integrations" }
  end)
end

return M
