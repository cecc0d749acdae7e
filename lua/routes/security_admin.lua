-- Security administration: the company security settings (Tech Admins), API tokens (Tech
-- Admins), the audit log (HR Admins and Tech Admins) and impersonation (super users).
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local security_settings = require "services.security_settings"
local client_address = require "services.client_address"
local impersonation = require "services.impersonation"
local api_tokens = require "services.api_tokens"
local people = require "services.people"
local audit = require "services.audit"
local reasons = require "services.reasons"

local M = {}

-- ------------------------------------------------------------------ security settings

local function settings_json()
  local v = security_settings.current()
  v.ip_ranges = json.array(v.ip_ranges)
  v.trusted_proxies = json.array(v.trusted_proxies)
  return v
end

local function settings_page(req)
  local _, https = client_address.client(req)
  local kept = page.kept(req)
  local values = kept and kept.values or security_settings.current()
  if kept then
    values.require_2fa_for_admins = values.require_2fa_for_admins == "on"
    values.secure_cookies = values.secure_cookies == "on"
  end
  return page.render(req, "admin_security", { title = "Security settings", values = values,
    errors = kept and kept.errors or {}, your_address = client_address.client(req), peer = req.peer,
    reached_at = (https and "https://" or "http://") .. (req.headers.host or "") }, { nav = "admin" })
end

-- ------------------------------------------------------------------ API tokens

local function token_json(t)
  return { id = t.id, name = t.name, prefix = t.prefix, created_by = { id = t.created_by, name = t.creator_name,
    email = t.creator_email }, created_at = util.format_time(t.created_at),
    last_used_at = t.last_used_at and util.format_time(t.last_used_at) or json.null,
    revoked_at = t.revoked_at and util.format_time(t.revoked_at) or json.null }
end

local function token_name(name)
  name = type(name) == "string" and util.trim(name) or ""
  if name == "" then errors.invalid({ name = "Give the token a name that says what uses it, e.g. \"HRIS sync\"." }) end
  if utf8.len(name) == nil or #name > 100 then errors.invalid({ name = "Use at most 100 characters." }) end
  return name
end

-- A token is made by a person in a browser: a token cannot make tokens, nor can an impersonator.
local function may_create_token(req)
  if req.via ~= "cookie" then errors.forbidden("API tokens are created by a person signed in with a browser.") end
  impersonation.refuse_impersonated(req, "API tokens")
end

local function tokens_page(req)
  local kept = page.kept(req) or { values = {}, errors = {} }
  return page.render(req, "admin_api_tokens", { title = "API tokens", tokens = api_tokens.list(false),
    errors = kept.errors, name = kept.values.name, created = kept.extra and kept.extra.created }, { nav = "admin" })
end

-- ------------------------------------------------------------------ audit log

local function entry_json(e)
  return { id = e.id, at = util.format_time(e.at), actor = { id = e.actor_id or json.null, label = e.actor_label },
    action = e.action, target = e.target_type and { type = e.target_type, id = e.target_id or json.null,
      label = e.target_label or json.null } or json.null,
    ip = e.ip or json.null, details = e.decoded }
end

-- The entries' details decoded (e.decoded), with the words of a typed reason (kept sealed, its
-- id in the details) put back for a viewer who may read them (HR Admins; Tech Admins see that a
-- reason was given). One query for the page.
local function reveal(entries, viewer)
  local list = {}
  for i, e in ipairs(entries) do
    e.decoded = json.decode(e.details) or {}
    list[i] = e.decoded
  end
  reasons.reveal(list, viewer)
end

local function audit_filters(q)
  return { action = q.action, actor = q.actor, target = q.target, from = q.from, to = q.to, page = q.page,
    per_page = q.per_page }
end

-- ------------------------------------------------------------------ routes

function M.routes(r)
  -- security settings
  r:add{ method = "GET", path = "/api/settings/security", auth = "user", perm = "admin.security",
    handler = function() return web.json(200, settings_json()) end }

  r:add{ method = "PUT", path = "/api/settings/security", auth = "user", perm = "admin.security",
    handler = function(req)
      local changed = security_settings.save(req.user, web.body(req), req)
      local out = settings_json()
      local names = {}
      for k in pairs(changed) do names[#names + 1] = k end
      table.sort(names)
      return web.json(200, { settings = out, changed = json.array(names) })
    end }

  r:add{ method = "GET", path = "/admin/security", auth = "user", perm = "admin.security",
    handler = function(req) return settings_page(req) end }

  r:add{ method = "POST", path = "/admin/security", auth = "user", perm = "admin.security",
    handler = function(req)
      local f = web.form(req)
      local input = { ip_ranges = f.ip_ranges or "", trusted_proxies = f.trusted_proxies or "",
        max_connections_per_address = f.max_connections_per_address,
        password_min_length = f.password_min_length, session_idle_minutes = f.session_idle_minutes,
        session_max_hours = f.session_max_hours, require_2fa_for_admins = f.require_2fa_for_admins == "on",
        secure_cookies = f.secure_cookies == "on", public_url = f.public_url }
      local ok, changed = page.form(req, { back = "/admin/security", values = f },
        security_settings.save, req.user, input, req)
      if not ok then return changed end
      local n = 0
      for _ in pairs(changed) do n = n + 1 end
      return page.redirect("/admin/security", "success",
        n == 0 and "Nothing changed." or ("Security settings saved (%s)."):format(util.plural(n, "change", "changes")))
    end }

  -- API tokens
  r:add{ method = "GET", path = "/api/tokens", auth = "user", perm = "admin.api_tokens",
    handler = function(req)
      local list = {}
      for i, t in ipairs(api_tokens.list(web.query(req).include_revoked == "true")) do list[i] = token_json(t) end
      return web.json(200, { tokens = json.array(list) })
    end }

  r:add{ method = "POST", path = "/api/tokens", auth = "user", perm = "admin.api_tokens",
    handler = function(req)
      may_create_token(req)
      local name = token_name(web.body(req).name)
      local token, id = api_tokens.create(req.user, name, req)
      local out = token_json(api_tokens.get(id))
      out.token = token
      return web.json(201, out)
    end }

  r:add{ method = "DELETE", path = "/api/tokens/{id:int}", auth = "user", perm = "admin.api_tokens",
    handler = function(req)
      api_tokens.revoke(req.user, req.params.id, req)
      return web.no_content()
    end }

  r:add{ method = "GET", path = "/admin/api-tokens", auth = "user", perm = "admin.api_tokens",
    handler = function(req) return tokens_page(req) end }

  r:add{ method = "POST", path = "/admin/api-tokens", auth = "user", perm = "admin.api_tokens",
    handler = function(req)
      local f = web.form(req)
      local ok, name, token = page.form(req, { back = "/admin/api-tokens", values = f }, function()
        may_create_token(req)
        local name = token_name(f.name)
        return name, api_tokens.create(req.user, name, req)
      end)
      if not ok then return name end
      -- shown once, on the page the browser lands on (a reload of it shows it no more)
      page.keep(req, "/admin/api-tokens", { extra = { created = { name = name, token = token } } })
      return web.redirect("/admin/api-tokens")
    end }

  r:add{ method = "POST", path = "/admin/api-tokens/{id:int}/revoke", auth = "user", perm = "admin.api_tokens",
    handler = function(req)
      local name = api_tokens.revoke(req.user, req.params.id, req)
      return page.redirect("/admin/api-tokens", "success", ("The token \"%s\" was revoked; it stops working at once.")
        :format(name))
    end }

  -- audit log
  r:add{ method = "GET", path = "/api/audit", auth = "user", perm = "admin.audit_log",
    handler = function(req)
      local res = audit.search(audit_filters(web.query(req)))
      reveal(res.entries, req.user)
      local list = {}
      for i, e in ipairs(res.entries) do list[i] = entry_json(e) end
      return web.json(200, { entries = json.array(list), total = res.total, page = res.page, per_page = res.per_page,
        pages = res.pages })
    end }

  r:add{ method = "GET", path = "/admin/audit", auth = "user", perm = "admin.audit_log",
    handler = function(req)
      local q = web.query(req)
      local filters = audit_filters(q)
      local ok, res = pcall(audit.search, filters)
      local bad
      if not ok then
        if not (errors.is(res) and res.status == 422) then error(res, 0) end
        bad = res.fields
        res = audit.search({ page = 1 })
      end
      reveal(res.entries, req.user)
      for _, e in ipairs(res.entries) do
        e.when = dates.format_time(e.at, { seconds = true })
        if e.decoded.reason_hidden then -- a Tech Admin: that a reason was given, in words
          e.decoded.reason, e.decoded.reason_hidden = "(given; only HR Admins read it)", nil
        end
        e.details_text = e.details ~= "{}" and (e.decoded.reason and json.encode(e.decoded)
          or e.details) or nil
      end
      local keep = {}
      for k, v in pairs(filters) do if k ~= "page" and v and v ~= "" then keep[k] = v end end
      return page.render(req, "admin_audit", { title = "Audit log", result = res, filters = filters,
        errors = bad or {}, keep = keep, actions = audit.actions(),
        verified = nil }, { nav = "admin", wide = true })
    end }

  -- impersonation
  r:add{ method = "POST", path = "/people/{id:int}/impersonate", auth = "user", perm = "admin.impersonate",
    handler = function(req)
      local target = people.require(req.params.id)
      local res = page.redirect("/home", "info", "You are now seeing Candor as " .. target.name
        .. ". Every change you make is logged in your name and theirs. End it with the button at the top.")
      impersonation.start(req, res, target)
      return res
    end }

  r:add{ method = "POST", path = "/impersonation/end", auth = "any_user", perm = "object",
    handler = function(req)
      local res = web.redirect("/")
      local imp, target = impersonation.finish(req, res)
      if imp then
        res.headers.Location = "/people/" .. target.id
        page.flash(res, "info", "Impersonation of " .. target.name .. " ended. You are yourself again.")
      end
      return res
    end }

  events.hook("admin.tiles", function(e)
    e.links["admin.impersonate"] = { href = "/people" } -- it starts from a person's menu in the directory
  end)
end

return M
