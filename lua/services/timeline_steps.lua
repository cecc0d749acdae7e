-- What the timelines run outside the workflow engine have in common (the 1:1 mails, the mails of
-- objectives): checking a list of steps against a kind's step schema, when a dated step goes out,
-- and hooking the events the steps name. Each timeline keeps its own words (anchors, groups,
-- filters, templates) and what its steps do.
local sandbox = require "core.sandbox"
local fs = require "core.fs"
local log = require "core.log"
local events = require "lib.events"
local schema = require "lib.schema"
local dates = require "lib.dates"
local mail = require "services.mail"

local M = {}

--- The schema of one step with a kind's words: spec { title, events, anchors, groups, filters,
--- days (the largest offset), at (what an anchor is, for the description), check (fn(r, report)
--- with the kind's own rules) }. Every step has either on (an event) or at (a date), a known
--- template and an optional id.
function M.step_schema(spec)
  return schema.record{ title = spec.title, fields = {
    { on = { type = "string", one_of = spec.events, description = "The event that sends it." } },
    { at = { type = "string", one_of = spec.anchors, description = spec.at } },
    { offset = { type = "integer", between = { -spec.days, spec.days }, default = 0,
      description = "Days after the anchor (negative: before)." } },
    { to = { type = "string", one_of = spec.groups, required = true, description = "Who gets it." } },
    { only = { type = "string", one_of = spec.filters, default = "all", description = "Which of them." } },
    { template = { type = "string", required = true, description = "The mail template." } },
    { id = { type = "string", match = "^[%w_]+$", match_hint = "letters, digits and _",
      description = "The step's name (default s<n>); it names its job." } },
  }, checks = {
    function(r, report)
      if (r.on == nil) == (r.at == nil) then report(nil, "a step has either on (an event) or at (a date)") end
      if r.template and not mail.templates[r.template] then report("template", "unknown mail template {value}", r.template) end
      if spec.check then spec.check(r, report) end
    end,
  } }
end

--- Checks timeline against step (a step's schema): the normalised steps (each with .id, s<n> by
--- default; no two alike), or nil and the problems' messages.
function M.check(step, timeline)
  local steps, errs = schema.validate({ type = "array", elements = step, len_min = 1 }, timeline)
  if not steps then
    local out = {}
    for _, e in ipairs(errs) do out[#out + 1] = e.path .. ": " .. e.message end
    return nil, out
  end
  local seen = {}
  for i, s in ipairs(steps) do
    s.id = s.id or ("s" .. i)
    if seen[s.id] then return nil, { ("[%d].id: %s names two steps"):format(i, s.id) } end
    seen[s.id] = true
  end
  return steps
end

--- When a dated step relative to date (YYYY-MM-DD) goes out (seconds): offset days after it, at
--- notifications.send_hour on the company's clocks (lib/dates.lua).
function M.when(step, date)
  return dates.at_send_hour(date, step.offset or 0)
end

--- The step named id, or nil (the timeline changed since a job was planned).
function M.find(steps, id)
  for _, s in ipairs(steps) do if s.id == id then return s end end
end

--- Hooks fn(event, name) once on every event a step names in `on`.
function M.hook_events(steps, fn)
  local hooked = {}
  for _, s in ipairs(steps) do
    if s.on and not hooked[s.on] then
      hooked[s.on] = true
      events.hook(s.on, fn)
    end
  end
end

-- What a timeline script may use: it is data, so little of either.
local LIMITS = { memory_limit = 2 * 1024 * 1024, instruction_limit = 1000000, timeout_ms = 2000 }

-- The steps of source (a script returning { name =, timeline = }), checked with check: steps or
-- nil, messages. The script runs in the sandbox, as every script a customer can write.
local function compile(source, chunkname, check)
  if type(source) ~= "string" or #source > 64 * 1024 then return nil, { "the script is missing or over 64 KiB" } end
  local sb, err = sandbox.load(source, chunkname, LIMITS)
  if not sb then return nil, { type(err) == "table" and (err.message or err.code) or tostring(err) } end
  local data, derr = sb:data()
  sb:close()
  if derr then return nil, { type(derr) == "table" and (derr.message or derr.code) or tostring(derr) } end
  if type(data) ~= "table" or type(data.timeline) ~= "table" then
    return nil, { "the script must return a table with a timeline (a list of steps)" }
  end
  return check(data.timeline)
end

--- Loads the timeline of workflows/<name>.lua: the copy in <data folder>/workflows/<name>.lua
--- when there is one and it is valid (a broken copy is logged and the built-in file runs), else
--- the built-in file, which must be valid. check(timeline) -> steps | nil, messages. Returns the
--- steps and where they came from ("built-in" or the copy's path).
function M.load(app, name, check)
  local copy = app.data_dir and (app.data_dir .. "/workflows/" .. name .. ".lua")
  if copy and fs.stat(copy) then
    local steps, errs = compile(fs.read(copy), "workflows/" .. name .. ".lua", check)
    if steps then return steps, copy end
    log.warn(("%s is not valid, the built-in timeline runs instead: %s"):format(copy, table.concat(errs, "; ")))
  end
  local path = app.app_dir .. "/../workflows/" .. name .. ".lua"
  local steps, errs = compile(fs.read(path), "workflows/" .. name .. ".lua", check)
  if not steps then error(("workflows/%s.lua is not valid: %s"):format(name, table.concat(errs, "; "))) end
  return steps, "built-in"
end

return M
