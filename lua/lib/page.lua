-- Server-rendered pages: the layout with navigation, flash messages, and forms that keep what
-- was typed when they are refused (post/redirect/get).
local template = require "lib.template"
local web = require "lib.web"
local util = require "lib.util"
local dates = require "lib.dates"
local json = require "lib.json"
local db = require "lib.db"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local clock = require "core.clock"
local crypto = require "core.crypto"
local has_server, server = pcall(require, "core.server") -- absent in command-line runs

local M = {}

-- Navigation: areas hook the event "page.nav" ({ user =, items = {} }) and add the entries
-- the user should see: { id=, label=, href=, icon=, order=, section = "main"|"admin" }.
local function nav_for(user, active)
  local out = { main = {}, admin = {} }
  if not user then return out end
  local e = { user = user, items = {} }
  events.fire("page.nav", e)
  local items = e.items
  for i, it in ipairs(items) do it.n = i end
  table.sort(items, function(a, b)
    if (a.order or 50) ~= (b.order or 50) then return (a.order or 50) < (b.order or 50) end
    return a.n < b.n
  end)
  for _, it in ipairs(items) do
    assert(it.id and it.label and it.href, "nav item needs id, label, href")
    local list = out[it.section or "main"]
    list[#list + 1] = { id = it.id, label = it.label, href = it.href, icon = it.icon, active = it.id == active }
  end
  return out
end

--- URL with a query built from a table: url("/people", { q = "ann", page = 2 }).
local function url(path, query)
  if not query then return path end
  local q = util.build_query(query)
  return q ~= "" and (path .. "?" .. q) or path
end

--- A sortable column heading: a link to path with query and sort = key (the other order when the
--- list is sorted by key already: sort, order say how it is), marked for screen readers.
local function sort_link(path, query, sort, order, key, label)
  local active = sort == key
  local q = util.copy(query or {})
  q.sort, q.order = key, (active and order == "asc") and "desc" or "asc"
  return template.safe(('<a href="%s"%s aria-sort="%s">%s%s</a>'):format(template.escape(url(path, q)),
    active and ' class="sorted"' or "", active and (order == "asc" and "ascending" or "descending") or "none",
    template.escape(label), active and (order == "asc" and " ▲" or " ▼") or ""))
end

--- Cache-busting URL of a static file.
local function asset(path)
  local etag = has_server and server.static_etag(path)
  return "/static/" .. path .. (etag and ("?v=" .. etag) or "")
end

--- A progress bar as a small SVG (width attributes, not inline styles: the CSP forbids those).
local function progress(n, total, label)
  local pct = (total and total > 0) and math.floor(100 * (n or 0) / total + 0.5) or 0
  return template.safe(('<svg class="progress-bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" '
    .. 'aria-label="%s%d%%"><rect width="100" height="8" rx="4" fill="#eef0f4"/>'
    .. '<rect class="%s" width="%d" height="8" rx="4" fill="%s"/></svg>'):format(template.escape(label and (label .. ": ") or ""),
    pct, pct >= 100 and "progress-done" or "progress-fill", pct, pct >= 100 and "#047857" or "#4338ca"))
end

template.helpers.progress = progress
template.helpers.url = url
template.helpers.sort_link = sort_link
template.helpers.asset = asset
template.helpers.initials = util.initials
template.helpers.human_date = dates.format_date
template.helpers.human_time = dates.format_time
template.helpers.plural = util.plural
template.helpers.noun = util.noun
template.helpers.json = json.encode

-- Flash messages survive one redirect in a short-lived cookie.
local FLASH = "candor_flash"

--- Adds a one-time message to show on the next page: kind "success"|"error"|"info".
function M.flash(res, kind, message)
  local value = crypto.b64(json.encode({ kind = kind, message = message }))
  return web.add_header(res, "Set-Cookie", web.cookie_header(FLASH, value, { max_age = 60 }))
end

local function take_flash(req, res)
  local v = web.cookie(req, FLASH)
  if not v or v == "" then return nil end
  web.add_header(res, "Set-Cookie", web.cookie_header(FLASH, "", { max_age = 0 }))
  local raw = crypto.unb64(v)
  local f = raw and json.decode(raw)
  if type(f) == "table" and type(f.message) == "string" then
    return { kind = f.kind == "error" and "error" or (f.kind == "info" and "info" or "success"),
      message = util.truncate(f.message, 300) }
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
  local look = {} -- the company's name, logo, colour and sign-in text (services/design.lua)
  events.fire("page.look", look)
  data.look = look
  local content = template.render(name, data)
  local res = web.html(opts.status or 200, "")
  local layout = opts.layout or (req.user and "app" or "plain")
  local quick = { user = req.user, items = {} }
  if req.user and layout == "app" then events.fire("page.quick_create", quick) end
  res.body = template.render("layout_" .. layout, {
    look = look,
    quick_create = quick.items,
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
  if not req.user and not req.session and req.headers then
    -- an address no route matched was never authenticated: a signed-in person still gets
    -- their navigation and a way home, not "Sign in"
    pcall(events.fire, "http.authenticate", { req = req })
  end
  local res = M.render(req, "error", {
    title = titles[e.status] or "Something went wrong",
    status = e.status, message = e.message,
  }, { status = e.status })
  if e.retry_after then res.headers["Retry-After"] = tostring(math.ceil(e.retry_after)) end
  if e.allow then res.headers["Allow"] = e.allow end
  return res
end

-- ------------------------------------------------------------------ forms (post/redirect/get)
-- A refused form post never answers with a page at the post's address (a reload would post the
-- stale form again, over what autosave stored since). page.form() keeps what was typed and the
-- messages per field for this session and form, server-side and encrypted (a form can hold
-- review answers), and redirects (303) to the form's page; that page's GET takes them back,
-- once, with page.kept(). They expire after FORM_TTL seconds and go with the session.

M.FORM_TTL = 600

crypt.register{ table = "form_states", column = "state_enc", key = { "session_id", "form" } }

-- Fields never kept, whatever the form: passwords, codes, tokens.
local SECRET_FIELDS = { code = true, recovery_code = true, token = true, csrf_token = true, secret = true }

local function secret_field(name)
  name = tostring(name):lower()
  return SECRET_FIELDS[name] or name:find("password", 1, true) ~= nil
end

local function session_id(req)
  local s = req.session or req.pending_session
  return s and s.id
end

-- The form's key: the path of its page (a query string does not make another form).
local function form_key(address)
  return (tostring(address):match("^[^?#]*"))
end

--- Keeps state { values =, errors =, extra = } for the form at address (its page's path) and
--- this session, replacing an older one. Secret fields are dropped from values. Returns false
--- when there is no session to keep it for.
function M.keep(req, address, state)
  local sid = session_id(req)
  if not sid then return false end
  local form = form_key(address)
  local values = {}
  for k, v in pairs(state.values or {}) do
    if not secret_field(k) then values[k] = v end
  end
  local text = json.encode({ values = values, errors = state.errors or {}, extra = state.extra })
  local now = clock.now()
  local function write()
    db.exec("DELETE FROM form_states WHERE expires_at <= ?", now)
    db.exec([[INSERT INTO form_states(session_id, form, state_enc, expires_at) VALUES(?, ?, ?, ?)
      ON CONFLICT(session_id, form) DO UPDATE SET state_enc = excluded.state_enc, expires_at = excluded.expires_at]],
      sid, form, crypt.seal("form_states", "state_enc", { sid, form }, text), now + M.FORM_TTL)
  end
  if db.depth() > 0 then write() else db.transaction(write) end
  return true
end

--- What page.form() kept for the form at address (default: this request's path) in this
--- session: { values = {...}, errors = { field = message }, extra = ... } or nil. Single use:
--- the state is gone once read (a HEAD request only looks).
function M.kept(req, address)
  local sid = session_id(req)
  if not sid then return nil end
  local form = form_key(address or req.path)
  local row = db.row("SELECT state_enc, expires_at FROM form_states WHERE session_id = ? AND form = ?", sid, form)
  if not row then return nil end
  if req.method ~= "HEAD" then db.exec("DELETE FROM form_states WHERE session_id = ? AND form = ?", sid, form) end
  if row.expires_at <= clock.now() then return nil end
  local text = crypt.try_open("form_states", "state_enc", { sid, form }, row.state_enc)
  local state = text and json.decode(text)
  if type(state) ~= "table" then return nil end
  return { values = type(state.values) == "table" and state.values or {},
    errors = type(state.errors) == "table" and state.errors or {}, extra = state.extra }
end

--- The one way a page form handles a refusal. Runs fn(...) and returns true and its results.
--- When fn raises an application error (4xx): its changes are undone (fn runs in a savepoint
--- when the route has a transaction), the typed values (spec.values) and the error's messages
--- per field are kept (page.keep), and it returns false and a 303 redirect to spec.back with
--- the error's message as a flash. Other errors propagate (a 500, logged).
--- spec: the back address (a page without the form: the messages go in the flash), or { back =,
--- values = (the posted fields), form = (the page whose GET takes the state back, with
--- page.kept(req, form); default back), extra = (more to keep), lists_problems = true (the
--- page lists the per-field problems at its top itself: no flash message then) }.
function M.form(req, spec, fn, ...)
  if type(spec) == "string" then spec = { back = spec } end
  local res
  if db.depth() > 0 then
    res = table.pack(pcall(db.transaction, fn, ...))
  else
    res = table.pack(pcall(fn, ...))
  end
  if res[1] then return true, table.unpack(res, 2, res.n) end
  local e = res[2]
  if not (errors.is(e) and e.status < 500) then error(e, 0) end
  -- kept for a form page that reads it back (given values, extra or its own form key)
  local kept = (spec.values or spec.extra or spec.form)
    and M.keep(req, spec.form or spec.back, { values = spec.values, errors = e.fields, extra = spec.extra })
  local message = e.message
  if not kept and type(e.fields) == "table" and next(e.fields) then
    -- nothing kept (no form page, or signed out: no session): the flash carries the messages
    local parts = {}
    for _, m in pairs(e.fields) do parts[#parts + 1] = tostring(m) end
    table.sort(parts)
    message = table.concat(parts, " ")
  end
  if kept and spec.lists_problems and type(e.fields) == "table" and next(e.fields) then
    return false, web.redirect(spec.back)
  end
  return false, M.redirect(spec.back, "error", message)
end

return M
