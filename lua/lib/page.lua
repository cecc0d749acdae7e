-- Server-rendered pages: the layout with navigation, flash messages, form helpers.
local template = require "lib.template"
local web = require "lib.web"
local util = require "lib.util"
local json = require "lib.json"

local M = {}

-- Navigation: areas add entries with page.add_nav{ id=, label=, href=, icon=, order=,
-- section="main"|"admin", visible=function(user) -> bool }.
M.nav = {}

function M.add_nav(item)
  assert(item.id and item.label and item.href, "nav item needs id, label, href")
  for i, it in ipairs(M.nav) do
    if it.id == item.id then M.nav[i] = item return end
  end
  M.nav[#M.nav + 1] = item
  table.sort(M.nav, function(a, b) return (a.order or 50) < (b.order or 50) end)
end

local function nav_for(user, active)
  local out = { main = {}, admin = {} }
  if not user then return out end
  for _, it in ipairs(M.nav) do
    if not it.visible or it.visible(user) then
      local list = out[it.section or "main"]
      list[#list + 1] = { id = it.id, label = it.label, href = it.href, icon = it.icon,
        active = it.id == active }
    end
  end
  return out
end

--- URL with a query built from a table: url("/people", { q = "ann", page = 2 }).
local function url(path, query)
  if not query then return path end
  local q = util.build_query(query)
  return q ~= "" and (path .. "?" .. q) or path
end

--- Cache-busting URL of a static file.
local function asset(path)
  local ok, server = pcall(require, "core.server")
  local etag = ok and server.static_etag(path)
  return "/static/" .. path .. (etag and ("?v=" .. etag) or "")
end

local function initials(name)
  local a, b = tostring(name or "?"):match("^(%S)%S*%s+.-(%S)%S*$")
  if a then return (a .. b):upper() end
  return tostring(name or "?"):sub(1, 1):upper()
end

--- A progress bar as a small SVG (width attributes, not inline styles: the CSP forbids those).
local function progress(n, total, label)
  local pct = (total and total > 0) and math.floor(100 * (n or 0) / total + 0.5) or 0
  return template.safe(('<svg class="progress-bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" '
    .. 'aria-label="%s%d%%"><rect width="100" height="8" rx="4" fill="#eef0f4"/>'
    .. '<rect width="%d" height="8" rx="4" fill="%s"/></svg>'):format(template.escape(label and (label .. ": ") or ""),
    pct, pct, pct >= 100 and "#047857" or "#4338ca"))
end

template.helpers.progress = progress
template.helpers.url = url
template.helpers.asset = asset
template.helpers.initials = initials
template.helpers.human_date = util.human_date
template.helpers.plural = util.plural
template.helpers.json = json.encode

-- Flash messages survive one redirect in a short-lived cookie.
local FLASH = "candor_flash"

--- Adds a one-time message to show on the next page: kind "success"|"error"|"info".
function M.flash(res, kind, message)
  local crypto = require "core.crypto"
  local value = crypto.b64(json.encode({ kind = kind, message = message }))
  return web.add_header(res, "Set-Cookie", web.cookie_header(FLASH, value, { max_age = 60 }))
end

local function take_flash(req, res)
  local v = web.cookie(req, FLASH)
  if not v or v == "" then return nil end
  web.add_header(res, "Set-Cookie", web.cookie_header(FLASH, "", { max_age = 0 }))
  local crypto = require "core.crypto"
  local raw = crypto.unb64(v)
  local f = raw and json.decode(raw)
  if type(f) == "table" and type(f.message) == "string" then
    return { kind = f.kind == "error" and "error" or (f.kind == "info" and "info" or "success"),
      message = f.message:sub(1, 300) }
  end
end

--- Redirect with a flash message.
function M.redirect(location, kind, message)
  return M.flash(web.redirect(location), kind, message)
end

--- Renders templates/NAME.html inside the layout. data.title names the page; opts: nav
--- (active nav id), status, layout ("app" | "plain" for signed-out pages).
function M.render(req, name, data, opts)
  opts = opts or {}
  data = data or {}
  data.req = req
  data.user = req.user
  data.csrf = req.session and req.session.csrf or ""
  local content = template.render(name, data)
  local res = web.html(opts.status or 200, "")
  local layout = opts.layout or (req.user and "app" or "plain")
  res.body = template.render("layout_" .. layout, {
    title = data.title,
    content = template.safe(content),
    user = req.user,
    impersonator = req.session and req.session.impersonator,
    nav = nav_for(req.user, opts.nav),
    csrf = data.csrf,
    flash = take_flash(req, res),
    req = req,
    wide = opts.wide,
  })
  return res
end

--- An error page for an application error.
function M.error(req, e)
  local titles = { [400] = "That did not work", [401] = "Please sign in", [403] = "Not allowed",
    [404] = "Page not found", [405] = "Not allowed here", [409] = "That conflicts with something",
    [413] = "Too large", [422] = "Please check the form", [429] = "Slow down a little",
    [500] = "Something went wrong", [507] = "The server's disk is full" }
  local res = M.render(req, "error", {
    title = titles[e.status] or "Something went wrong",
    status = e.status, message = e.message,
  }, { status = e.status })
  if e.retry_after then res.headers["Retry-After"] = tostring(math.ceil(e.retry_after)) end
  if e.allow then res.headers["Allow"] = e.allow end
  return res
end

--- For a form post: runs fn(...) and returns true and its results; when fn raised an
--- application error (4xx), returns false and a redirect to `back` showing its message.
--- Other errors propagate (a 500 with the traceback logged).
function M.attempt(back, fn, ...)
  local res = table.pack(pcall(fn, ...))
  if res[1] then return true, table.unpack(res, 2, res.n) end
  local e = res[2]
  if require("lib.errors").is(e) and e.status < 500 then return false, M.redirect(back, "error", e.message) end
  error(e, 0)
end

--- Field error text for a form, from an errors.invalid() value.
function M.field_errors(e)
  return (e and e.fields) or {}
end

return M
