-- Notifications administration: email templates (edit, preview, reset), the outbox and one
-- mail's page, bounces, and the mail server settings with a test mail. Pages and the JSON API
-- (docs/api-mail.md); the rules live in services/mail.lua, services/delivery.lua and services/outbox.lua.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local errors = require "lib.errors"
local events = require "lib.events"
local template = require "lib.template"
local safe_html = require "lib.safe_html"
local access = require "services.access"
local mail = require "services.mail"
local delivery = require "services.delivery"
local outbox = require "services.outbox"
local accounts = require "services.accounts"

local M = {}

local function null(v) if v == nil then return json.null end return v end

local function fmt_time(ts) return dates.format_time(ts) end

local function iso(ts) return ts and util.format_time(ts) or json.null end

local function ph(name) return "{{" .. name .. "}}" end

local STATUS_BADGE = { queued = "badge-brand", sending = "badge-warn", sent = "badge-ok", failed = "badge-bad",
  bounced = "badge-bad", held = "badge-warn", interrupted = "badge-warn" }
local STATUS_LABEL = { queued = "Queued", sending = "Sending", sent = "Sent", failed = "Failed",
  bounced = "Bounced", held = "Held", interrupted = "Interrupted" }

local helpers = { fmt_time = fmt_time, ph = ph, status_badge = STATUS_BADGE, status_label = STATUS_LABEL }

local function with_helpers(data)
  for k, v in pairs(helpers) do if data[k] == nil then data[k] = v end end
  return data
end

-- Escaped text with line breaks, placeholders left in it highlighted.
local function text_html(s, mark)
  local h = template.escape(s or "")
  if mark then h = h:gsub("{{#?/?[%w_]+}}", "<mark>%0</mark>") end
  return template.safe((h:gsub("\r?\n", "<br>\n")))
end

local function template_json(t)
  local vars = {}
  for i, v in ipairs(t.variables) do vars[i] = { name = v.name, description = v.description, standard = v.standard } end
  return { name = t.name, description = t.description, subject = t.subject, text = t.text, edited = t.edited,
    default_subject = t.default_subject, default_text = t.default_text, variables = json.array(vars),
    updated_at = iso(t.updated_at), updated_by = null(t.updated_by) }
end

local function preview_json(p)
  return { subject = p.subject, text = p.text, html = p.html, unknown_vars = json.array(p.unknown),
    problems = p.problems or {} }
end

local function mail_summary_json(m)
  return { id = m.id, created_at = iso(m.created_at), template = m.template, to_email = m.to_email,
    to_name = null(m.to_name), subject = m.subject, status = m.status, attempts = m.attempts,
    next_attempt_at = m.status == "queued" and iso(m.next_attempt_at) or json.null,
    last_error = null(m.last_error), sent_at = iso(m.sent_at),
    related_type = null(m.related_type), related_id = null(m.related_id),
    cycle = m.cycle_id and { id = m.cycle_id, name = m.cycle_name } or json.null }
end

local function mail_json(m)
  local out = mail_summary_json(m)
  out.cc = null(m.cc)
  out.text = m.body_text
  out.html = null(m.body_html)
  out.smtp_response = null(m.smtp_response)
  out.message_id = null(m.message_id)
  local hist = {}
  for i, e in ipairs(m.history) do
    hist[i] = { at = iso(e.at), status = e.status, detail = null(e.detail), by = null(e.actor_name) }
  end
  out.history = json.array(hist)
  return out
end

local function bounce_json(b)
  return { id = b.id, email = b.email, at = iso(b.at), smtp_code = null(b.smtp_code), message = b.message,
    outbox_id = null(b.outbox_id), subject = null(b.subject), fixed_at = iso(b.fixed_at),
    fixed_by = null(b.fixed_by_name) }
end

-- Outbox filters from the query string.
local function outbox_filters(req)
  local q = web.query(req)
  local f = {
    status = q.status ~= "" and q.status or nil,
    template = q.template ~= "" and q.template or nil,
    to = q.to and util.trim(q.to) ~= "" and util.trim(q.to) or nil,
    cycle = math.tointeger(tonumber(q.cycle or "")),
    page = math.tointeger(tonumber(q.page or "")) or 1,
    per_page = math.tointeger(tonumber(q.per_page or "")) or 50,
  }
  if f.status then
    local ok = false
    for _, s in ipairs(delivery.STATUSES) do if s == f.status then ok = true end end
    if not ok then errors.bad_request("status must be one of: " .. table.concat(delivery.STATUSES, ", ")) end
  end
  return f
end

local function template_names()
  local names = {}
  for name in pairs(mail.templates) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- ---------------------------------------------------------------- template pages
-- The editor. After a preview or a refused save (both redirect here) it shows the text as typed,
-- the problems of the one check saving runs (each at its field, once) and the preview.
local function edit_page(req, t)
  local kept = page.kept(req)
  local values, p, problems = { subject = t.subject, text = t.text }, nil, nil
  if kept then
    values = { subject = kept.values.subject or "", text = kept.values.text or "" }
    local preview = mail.preview_edit(t.name, values.subject, values.text, req.user)
    problems = preview.problems
    p = { subject = text_html(preview.subject, true), text = text_html(preview.text, true),
      html = template.safe((safe_html.clean(preview.html):gsub("{{#?/?[%w_]+}}", "<mark>%0</mark>"))),
      unknown = preview.unknown, problems = problems }
  end
  return page.render(req, "mail_template_edit", with_helpers{ title = t.name .. " · Email templates", t = t,
    text_default = text_html(t.default_text), values = values, preview = p, errors = problems or {} },
    { nav = "admin" })
end

local function template_routes(r)
  local PERM = "admin.email_templates"
  r:add{ method = "GET", path = "/admin/email-templates", auth = "user", perm = PERM,
    handler = function(req)
      return page.render(req, "mail_templates", with_helpers{ title = "Email templates", templates = mail.list() },
        { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/email-templates/{name}", auth = "user", perm = PERM,
    handler = function(req)
      return edit_page(req, mail.describe(req.params.name))
    end }

  r:add{ method = "POST", path = "/admin/email-templates/{name}", auth = "user", perm = PERM,
    handler = function(req)
      local t = mail.describe(req.params.name)
      local f = web.form(req)
      local values = { subject = f.subject or "", text = (f.text or ""):gsub("\r\n", "\n") }
      local back = "/admin/email-templates/" .. t.name
      if f.action == "preview" then
        page.keep(req, back, { values = values })
        return web.redirect(back .. "#preview")
      end
      local ok, res = page.form(req, { back = back, values = values }, mail.save_template, req.user, t.name,
        values.subject, values.text, req)
      if not ok then return res end
      return page.redirect("/admin/email-templates/" .. t.name, "success", "Template saved. New mail uses it from now on.")
    end }

  r:add{ method = "POST", path = "/admin/email-templates/{name}/reset", auth = "user", perm = PERM,
    handler = function(req)
      local t = mail.reset_template(req.user, req.params.name, req)
      return page.redirect("/admin/email-templates/" .. t.name, "success", "Back to the default text.")
    end }

  -- API
  r:add{ method = "GET", path = "/api/email-templates", auth = "user", perm = PERM,
    handler = function()
      local list = {}
      for i, t in ipairs(mail.list()) do list[i] = template_json(t) end
      return web.json(200, { templates = json.array(list) })
    end }

  r:add{ method = "GET", path = "/api/email-templates/{name}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, template_json(mail.describe(req.params.name))) end }

  r:add{ method = "PUT", path = "/api/email-templates/{name}", auth = "user", perm = PERM,
    handler = function(req)
      local b = web.body(req)
      mail.describe(req.params.name)
      return web.json(200, template_json(mail.save_template(req.user, req.params.name, b.subject, b.text, req)))
    end }

  r:add{ method = "DELETE", path = "/api/email-templates/{name}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, template_json(mail.reset_template(req.user, req.params.name, req))) end }

  r:add{ method = "POST", path = "/api/email-templates/{name}/preview", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local b = web.body(req)
      local function text_or_nil(v) if type(v) == "string" then return v end end
      local vars = {}
      if type(b.vars) == "table" then
        for k, v in pairs(b.vars) do
          if type(k) == "string" and (type(v) == "string" or type(v) == "number") then vars[k] = v end
        end
      end
      local p = mail.preview_edit(req.params.name, text_or_nil(b.subject), text_or_nil(b.text), req.user, vars)
      return web.json(200, preview_json(p))
    end }
end

-- ---------------------------------------------------------------- outbox pages
local function outbox_routes(r)
  local PERM = "admin.outbox"
  r:add{ method = "GET", path = "/admin/outbox", auth = "user", perm = PERM,
    handler = function(req)
      local f = outbox_filters(req)
      local res = outbox.list_outbox(f)
      return page.render(req, "mail_outbox", with_helpers{ title = "Outbox", res = res, f = f,
        configured = delivery.configured(), templates = template_names(), cycles = outbox.cycle_options(),
        statuses = delivery.STATUSES,
        can_server = access.can(req.user, "admin.integrations"), can_bounces = access.can(req.user, "admin.bounces") },
        { nav = "admin" })
    end }

  r:add{ method = "GET", path = "/admin/outbox/{id:int}", auth = "user", perm = PERM,
    handler = function(req)
      local m = outbox.mail_details(tonumber(req.params.id))
      return page.render(req, "mail_outbox_show", with_helpers{ title = m.subject .. " · Outbox", m = m,
        text = text_html(m.body_text), html = template.safe(safe_html.clean(m.body_html)),
        configured = delivery.configured(), can_templates = access.can(req.user, "admin.email_templates"),
        can_bounces = access.can(req.user, "admin.bounces") }, { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/outbox/{id:int}/retry", auth = "user", perm = PERM,
    handler = function(req)
      local id = tonumber(req.params.id)
      local ok, res = page.form(req, "/admin/outbox/" .. id, delivery.retry, req.user, id)
      if not ok then return res end
      return page.redirect("/admin/outbox/" .. id, "success", delivery.configured()
        and "The mail is back in the queue and goes out in a moment."
        or "The mail is back in the queue. No mail server is set up, so it stays there.")
    end }

  r:add{ method = "POST", path = "/admin/outbox/{id:int}/mark-sent", auth = "user", perm = PERM,
    handler = function(req)
      local id = tonumber(req.params.id)
      local ok, res = page.form(req, "/admin/outbox/" .. id, delivery.mark_sent, req.user, id)
      if not ok then return res end
      return page.redirect("/admin/outbox/" .. id, "success", "The mail is marked as sent.")
    end }

  r:add{ method = "POST", path = "/admin/outbox/retry-failed", auth = "user", perm = PERM,
    handler = function(req)
      local n = delivery.retry_failed(req.user)
      return page.redirect("/admin/outbox", "success", util.plural(n, "failed mail is", "failed mails are")
        .. " back in the queue.")
    end }

  r:add{ method = "GET", path = "/api/outbox", auth = "user", perm = PERM,
    handler = function(req)
      local res = outbox.list_outbox(outbox_filters(req))
      local list = {}
      for i, m in ipairs(res.mails) do list[i] = mail_summary_json(m) end
      return web.json(200, { mails = json.array(list), total = res.total, page = res.page, pages = res.pages,
        per_page = res.per_page, counts = res.counts, smtp_configured = delivery.configured() })
    end }

  r:add{ method = "GET", path = "/api/outbox/{id:int}", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, mail_json(outbox.mail_details(tonumber(req.params.id)))) end }

  r:add{ method = "POST", path = "/api/outbox/{id:int}/retry", auth = "user", perm = PERM,
    handler = function(req)
      local id = tonumber(req.params.id)
      delivery.retry(req.user, id)
      return web.json(200, mail_json(outbox.mail_details(id)))
    end }

  r:add{ method = "POST", path = "/api/outbox/{id:int}/mark-sent", auth = "user", perm = PERM,
    handler = function(req)
      local id = tonumber(req.params.id)
      delivery.mark_sent(req.user, id)
      return web.json(200, mail_json(outbox.mail_details(id)))
    end }

  r:add{ method = "POST", path = "/api/outbox/retry-failed", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, { requeued = delivery.retry_failed(req.user) }) end }
end

-- ---------------------------------------------------------------- bounces
local function bounce_routes(r)
  local PERM = "admin.bounces"
  r:add{ method = "GET", path = "/admin/bounces", auth = "user", perm = PERM,
    handler = function(req)
      local all = web.query(req).all == "1"
      return page.render(req, "mail_bounces", with_helpers{ title = "Bounces", bounces = outbox.bounces(all),
        all = all, can_outbox = access.can(req.user, "admin.outbox") }, { nav = "admin" })
    end }

  r:add{ method = "POST", path = "/admin/bounces/{id:int}/fixed", auth = "user", perm = PERM,
    handler = function(req)
      local res = delivery.mark_fixed(req.user, tonumber(req.params.id), req)
      return page.redirect("/admin/bounces", "success", ("%s is marked fixed.%s"):format(res.email,
        res.released > 0 and (" " .. util.plural(res.released, "held mail goes", "held mails go") .. " out again.") or ""))
    end }

  r:add{ method = "GET", path = "/api/bounces", auth = "user", perm = PERM,
    handler = function(req)
      local list = {}
      for i, b in ipairs(outbox.bounces(web.query(req).all == "1")) do list[i] = bounce_json(b) end
      return web.json(200, { bounces = json.array(list) })
    end }

  r:add{ method = "POST", path = "/api/bounces/{id:int}/fixed", auth = "user", perm = PERM,
    handler = function(req) return web.json(200, delivery.mark_fixed(req.user, tonumber(req.params.id), req)) end }
end

-- ---------------------------------------------------------------- mail server
local function server_json(s)
  return { host = s.host, port = s.port, security = s.security, username = s.username, from_name = s.from_name,
    from_address = s.from_address, password_set = s.password_set, configured = s.configured }
end

local function server_page(req)
  local s = delivery.get_settings()
  local kept = page.kept(req)
  local values = s
  if kept and next(kept.values) then
    values = delivery.get_settings()
    for k, v in pairs(kept.values) do values[k] = v end
  end
  return page.render(req, "mail_server", with_helpers{ title = "Mail server", s = s, values = values,
    errors = kept and kept.errors or {}, test = kept and kept.extra and kept.extra.test,
    security = delivery.SECURITY, security_labels = delivery.SECURITY_LABELS,
    can_outbox = access.can(req.user, "admin.outbox"), links_start = accounts.base_url(),
    host = req.headers.host, can_security = access.can(req.user, "admin.security") }, { nav = "admin" })
end

local function server_routes(r)
  local PERM = "admin.integrations"
  r:add{ method = "GET", path = "/admin/mail-server", auth = "user", perm = PERM,
    handler = function(req) return server_page(req) end }

  r:add{ method = "POST", path = "/admin/mail-server", auth = "user", perm = PERM,
    handler = function(req)
      local f = web.form(req)
      local input = { host = f.host, port = f.port, security = f.security, username = f.username,
        from_name = f.from_name, from_address = f.from_address, password = f.password,
        clear_password = f.clear_password }
      local ok, res = page.form(req, { back = "/admin/mail-server", values = input }, delivery.save_settings, req.user,
        input, req)
      if not ok then return res end
      return page.redirect("/admin/mail-server", "success", "Mail server settings saved.")
    end }

  r:add{ method = "POST", path = "/admin/mail-server/test", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/admin/mail-server", extra = { test = { ok = false, to = f.to } } },
        delivery.send_test, req.user, f.to)
      if not ok then return res end
      -- the answer is shown on the settings page (a reload of it sends nothing)
      page.keep(req, "/admin/mail-server", { extra = { test = { ok = res.status == "sent", to = util.trim(f.to),
        id = res.id, message = res.status == "sent" and ("The server accepted it: " .. (res.response or ""))
          or ("It was not sent: " .. (res.detail or res.status)) } } })
      return web.redirect("/admin/mail-server")
    end }

  r:add{ method = "GET", path = "/api/mail-server", auth = "user", perm = PERM,
    handler = function() return web.json(200, server_json(delivery.get_settings())) end }

  r:add{ method = "PUT", path = "/api/mail-server", auth = "user", perm = PERM,
    handler = function(req)
      local s = delivery.save_settings(req.user, web.body(req), req)
      return web.json(200, server_json(s))
    end }

  r:add{ method = "POST", path = "/api/mail-server/test", auth = "user", perm = PERM, tx = false,
    handler = function(req)
      local b = web.body(req)
      local res = delivery.send_test(req.user, b.to)
      return web.json(200, { sent = res.status == "sent", outbox_id = res.id, status = res.status,
        response = null(res.response), error = res.status ~= "sent" and null(res.detail) or json.null })
    end }
end

function M.routes(r)
  template_routes(r)
  outbox_routes(r)
  bounce_routes(r)
  server_routes(r)
  events.hook("admin.tiles", function(e)
    e.links["admin.email_templates"] = { href = "/admin/email-templates" }
    e.links["admin.outbox"] = { href = "/admin/outbox" }
    e.links["admin.bounces"] = { href = "/admin/bounces" }
  end)
end

return M
