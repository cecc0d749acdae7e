-- Which modules the company uses (Administration › Features; admin.features: HR Admins and Tech
-- Admins). 1:1 meetings and praise have no cycles: they are on or off (seed 000); reviews, 360
-- feedback and objectives run when HR starts a cycle.
--
--   1:1 meetings off: hidden everywhere (navigation, quick create, home, the team page's
--   columns), their pages and API answer 404 "switched off", and their reminders are not sent.
--   Nothing is deleted: switched on again, every series, meeting and note is there as it was.
--   Praise off: nobody writes new praise (the same switch as Administration › Praise › Message
--   defaults); what was written stays on the wall.
--   Pulse surveys off: hidden as 1:1s are, pages and API 404 "switched off", no round opens or
--   closes and no invitation or reminder goes out (the jobs wait); nothing is deleted.
local errors = require "lib.errors"
local settings = require "services.settings"

local M = {}

M.LIST = {
  { name = "one_on_ones", key = "one_on_ones.enabled", label = "1:1 meetings",
    description = "Recurring meetings of two people with shared and private talking points, notes and action items.",
    off = "Hidden for everyone and its reminders stop; nothing is deleted." },
  { name = "praise", key = "messages.praise.enabled", label = "Praise",
    description = "Public recognition with badges, likes and comments, and the praise wall.",
    off = "Nobody can write new praise; what was written stays." },
  { name = "surveys", key = "surveys.enabled", label = "Pulse surveys",
    description = "Short anonymous surveys HR sends to everyone or to selected people, once or on a rhythm.",
    off = "Hidden for everyone, no rounds open or close and no mails go out; nothing is deleted." },
}

local by_name = {}
for _, f in ipairs(M.LIST) do by_name[f.name] = f end

--- Whether the module name ("one_on_ones", "praise") is switched on.
function M.on(name)
  return settings.get(assert(by_name[name], "no such feature").key) == true
end

--- Raises 404 (code feature_off) when the module name is switched off.
function M.require(name)
  if not M.on(name) then
    error(errors.new(404, "feature_off", ("%s are switched off in this company. An administrator can switch them on "
      .. "under Administration › Features."):format(by_name[name].label)), 2)
  end
end

--- A router whose routes (added with :add) answer 404 "switched off" while module name is off.
function M.guard(router, name)
  return { add = function(_, spec)
    local handler = spec.handler
    spec.handler = function(req, ...)
      M.require(name)
      return handler(req, ...)
    end
    return router:add(spec)
  end }
end

--- { one_on_ones = true, praise = true, surveys = true }
function M.all() return settings.switches(M.LIST) end

--- Switches modules on or off (input: name -> boolean; missing ones stay). Returns the changes by
--- name ({ from =, to = }); audited as settings.features. Raises 422 naming each problem.
function M.save(actor, input, req)
  return settings.save_switches(M.LIST, input, actor, req, "settings.features")
end

function M.init()
  settings.define("one_on_ones.enabled", { type = "boolean", default = true, label = "1:1 meetings on",
    description = "Whether the company uses 1:1 meetings (off: hidden everywhere, nothing deleted)." })
  settings.define("surveys.enabled", { type = "boolean", default = true, label = "Pulse surveys on",
    description = "Whether the company uses pulse surveys (off: hidden everywhere, rounds wait, nothing deleted)." })
  settings.define("surveys.default_threshold", { type = "integer", between = { 3, 10 }, default = 5,
    label = "Pulse survey anonymity threshold",
    description = "The fewest answers a pulse survey shows a score, comment or group for (3-10); a survey may raise it." })
end

return M
