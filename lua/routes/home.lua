-- The front door: health check, sign-in page, the signed-in home page.
-- Areas add to the home page by hooking events (docs/events.md):
--   home.todos  { user =, req =, items = {} }: append { label=, href=, due= }
--   home.panels { user =, req =, panels = {} }: append { title =, items = { { label=, href=, note=, badge=,
--                 tone= (the badge's: ok, brand, warn, bad, muted), progress = { n=, total=, label= }, done = bool (checklist) } }, empty =
--                 "text when there are none", order = number (lower first; default 50), checklist =
--                 bool, note =, action = { label=, href= }, empty_action = { label=, href= } (a link after
--                 the empty text: what to do next) }
local web = require "lib.web"
local page = require "lib.page"
local events = require "lib.events"
local util = require "lib.util"
local access = require "services.access"
local dashboard = require "services.dashboard"
local first_run = require "services.first_run"

local M = {}

local HEALTHY = '{"status":"ok"}'
local HEALTH_HEADERS = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store" }

-- ------------------------------------------------------------------ HR's panels

local function running_panel()
  local items = {}
  for _, c in ipairs(dashboard.running_cycles()) do
    local parts = {}
    if c.self_assessment then parts[#parts + 1] = ("%d of %d self-assessments"):format(c.self_done, c.total) end
    parts[#parts + 1] = ("%d shared"):format(c.shared)
    parts[#parts + 1] = ("%d signed by both"):format(c.done)
    items[#items + 1] = { label = c.name, href = "/cycles/" .. c.id, note = table.concat(parts, " · "),
      progress = { n = c.done, total = c.total, label = "Signed by both" } }
  end
  return { title = "Running review cycles", items = items, order = 10,
    empty = "No review cycle is running.", action = { label = "Review cycles", href = "/cycles" } }
end

-- What needs attention (services.dashboard.attention), worded and linked.
local ATTENTION = {
  manager_late = function(a)
    return { label = ("%s late in %s"):format(util.plural(a.n, "manager review"), a.cycle_name),
      href = "/cycles/" .. a.cycle_id .. "?status=manager_late", note = "Past the due date and not shared",
      badge = "Late", tone = "bad" }
  end,
  self_late = function(a)
    return { label = ("%s late in %s"):format(util.plural(a.n, "self-assessment"), a.cycle_name),
      href = "/cycles/" .. a.cycle_id .. "?status=self_late", note = "Past the due date and not submitted",
      badge = "Late", tone = "warn" }
  end,
  no_writer = function(a)
    return { label = ("%s in %s nobody is set to write"):format(util.plural(a.n, "review"), a.cycle_name),
      href = "/cycles/" .. a.cycle_id .. "?status=no_writer", note = "Choose who writes each one on its page",
      badge = "No writer", tone = "bad" }
  end,
  no_manager = function(a)
    return { label = ("%s in %s %s no manager"):format(util.plural(a.n, "reviewee"), a.cycle_name,
      a.n == 1 and "has" or "have"), href = "/cycles/" .. a.cycle_id .. "/reviewees",
      note = "Nobody would write their review: choose who does, give them a manager, or take them out; the cycle cannot start before",
      badge = "Before the start", tone = "warn" }
  end,
  bounced = function(a)
    return { label = ("Mail to %s bounced"):format(util.plural(a.n, "address", "addresses")),
      href = a.can_fix and "/admin/bounces" or nil,
      note = a.can_fix and "Their invitations and reminders are held until the address is fixed"
        or "Their invitations and reminders are held; a Tech Admin fixes the addresses under Administration › Bounces",
      badge = "Mail", tone = "bad" }
  end,
}

local function attention_panel(user)
  local items = {}
  for i, a in ipairs(dashboard.attention(user)) do items[i] = ATTENTION[a.kind](a) end
  return { title = "Needs your attention", items = items, order = 11,
    empty = "Nothing needs you right now: no late reviews, no bounced mail." }
end

-- The getting-started steps (services.dashboard.getting_started): label, where it is done, and
-- who does it for those who may not.
local STEPS = {
  name = { label = "Give Candor your company's name and logo", href = "/admin/design",
    note = "Mails sign with the name; pages show the logo",
    other = "A Tech Admin sets them under Administration › Design" },
  import = { label = "Import your people", href = "/people/import", fallback = "/people",
    note = "From a CSV export of your HR system, with their managers",
    other = "An HR Admin or a Tech Admin imports them" },
  roles = { label = "Give HR and IT colleagues their roles", href = "/people",
    note = "Open a person, then Actions › Roles", other = "An HR Admin gives the roles" },
  mail = { label = "Set up the mail server", href = "/admin/mail-server",
    note = "Until then invitations and reminders wait in the outbox",
    other = "A Tech Admin sets it under Administration › Mail server" },
  cycle = { label = "Create your first review cycle", href = "/cycles/new",
    other = "An HR Admin or HR Assistant creates it" },
}

local function getting_started_panel(user)
  local steps = dashboard.getting_started(user)
  if not steps then return nil end
  local items, done = {}, 0
  for i, s in ipairs(steps) do
    local w = STEPS[s.step]
    items[i] = { label = w.label, done = s.done, href = s.allowed and w.href or w.fallback,
      note = s.allowed and w.note or w.other }
    if s.done then done = done + 1 end
  end
  return { title = "Getting started", checklist = true, items = items, order = 5,
    note = ("%d of %d done"):format(done, #steps) }
end

function M.routes(r)
  r:add{ method = "GET", path = "/healthz", auth = "public", perm = "none", session = false,
    handler = function()
      return { status = 200, headers = HEALTH_HEADERS, body = HEALTHY }
    end }

  r:add{ method = "GET", path = "/", auth = "public", perm = "none",
    handler = function(req)
      if req.user then return web.redirect("/home") end
      if first_run.waiting() then return web.redirect("/setup") end -- a new company: nobody can sign in yet
      local q = web.query(req)
      return page.render(req, "signin", { title = "Sign in", next_url = q.next, email = q.email },
        { layout = "plain" })
    end }

  r:add{ method = "GET", path = "/home", auth = "any_user", perm = "object",
    handler = function(req)
      local todos = { user = req.user, req = req, items = {} }
      events.fire("home.todos", todos)
      todos = todos.items
      -- by due date; on the same date in the order the areas gave them (table.sort is not stable)
      for i, t in ipairs(todos) do t.position = i end
      table.sort(todos, function(a, b)
        if (a.due or "9999") ~= (b.due or "9999") then return (a.due or "9999") < (b.due or "9999") end
        return a.position < b.position
      end)
      local panels = { user = req.user, req = req, panels = {} }
      events.fire("home.panels", panels)
      panels = panels.panels
      for i, p in ipairs(panels) do p.position = i end
      table.sort(panels, function(a, b)
        if (a.order or 50) ~= (b.order or 50) then return (a.order or 50) < (b.order or 50) end
        return a.position < b.position
      end)
      return page.render(req, "home", { title = "Home", todos = todos, panels = panels }, { nav = "home" })
    end }

  events.hook("page.nav", function(e)
    e.items[#e.items + 1] = { id = "home", label = "Home", href = "/home", icon = "⌂", order = 1 }
  end)

  events.hook("home.panels", function(e)
    local user, panels = e.user, e.panels
    if user.kind == "guest" then return end
    if user.roles and #user.roles > 0 then panels[#panels + 1] = getting_started_panel(user) end
    if access.can(user, "review_cycles.track") then
      panels[#panels + 1] = running_panel()
      panels[#panels + 1] = attention_panel(user)
    end
  end)
end

return M
