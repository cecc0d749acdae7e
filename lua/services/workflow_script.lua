-- What a cycle workflow script may say: its vocabulary (anchors, activities, roles, events,
-- recipient groups, filters), the declarative schema of the table it returns (lib/schema.lua:
-- types, allowed values, bounds, unknown fields refused; it also generates the field reference
-- in docs/scripting.md), and the checks that span fields (a transition's phases exist, every
-- phase is reachable, a group fits its step). check(data) turns a script's data into the
-- definition the engine (services/workflows.lua) runs, or names every problem with its entry.
local schema = require "lib.schema"
local policy = require "lib.policy"
local mail = require "services.mail"

local M = {}

-- ------------------------------------------------------------------ vocabulary

--- The cycle dates a timeline step or transition can be relative to, their columns and labels.
M.ANCHORS = { "start", "self_due", "manager_due", "sign_due" }
M.ANCHOR_COLUMN = { start = "start_date", self_due = "self_due", manager_due = "manager_due", sign_due = "sign_due" }
M.ANCHOR_LABELS = { start = "the start date", self_due = "the self-assessment due date",
  manager_due = "the manager review due date", sign_due = "the sharing and signing deadline" }

--- What a phase can allow.
M.ACTIVITIES = { "self_write", "manager_write", "share", "sign" }
M.ACTIVITY_LABELS = { self_write = "write self-assessments", manager_write = "write manager reviews",
  share = "share reviews", sign = "sign reviews" }

--- Who a transition can name in `by`: the roles of policies/roles_list.lua, then "cycle_" and
--- each cycle role; filled by read_roles() once the policy is loaded.
M.ROLES, M.ROLE_LABELS = {}, {}

function M.read_roles()
  local list = policy.roles()
  for i = #M.ROLES, 1, -1 do M.ROLES[i] = nil end
  for _, r in ipairs(list.roles) do
    M.ROLES[#M.ROLES + 1] = r.name
    M.ROLE_LABELS[r.name] = r.plural
  end
  for _, c in ipairs(list.cycle_roles) do
    M.ROLES[#M.ROLES + 1] = "cycle_" .. c.name
    M.ROLE_LABELS["cycle_" .. c.name] = c.plural
  end
end

--- Events a timeline step can name in `on` (docs/events.md), and what they are about;
--- transitions add their own cycle.* events.
M.EVENTS = {
  ["cycle.started"] = "cycle", ["cycle.closed"] = "cycle",
  ["review.added"] = "review", ["review.self_submitted"] = "review", ["review.manager_submitted"] = "review",
  ["review.shared"] = "review", ["review.unshared"] = "review", ["review.signed"] = "review",
  ["review.closed"] = "review", ["review.reopened"] = "review",
}
M.EVENT_ORDER = { "cycle.started", "cycle.closed", "review.added", "review.self_submitted", "review.manager_submitted",
  "review.shared", "review.unshared", "review.signed", "review.closed", "review.reopened" }

--- Recipient groups: which steps may use them, and their label.
M.GROUPS = {
  reviewees = { label = "Reviewees", dated = true, cycle_event = true },
  managers = { label = "Managers", dated = true, cycle_event = true },
  cycle_admins = { label = "Cycle admins and assistants", dated = true, cycle_event = true, review_event = true },
  reviewee = { label = "The reviewee", review_event = true },
  manager = { label = "The manager", review_event = true },
}
M.GROUP_ORDER = { "reviewees", "managers", "cycle_admins", "reviewee", "manager" }

--- The named filters of `only` (services/workflows.lua holds what each one does).
M.FILTER_ORDER = { "self_not_submitted", "manager_not_submitted", "manager_not_shared", "reviewee_not_signed",
  "manager_not_signed", "not_signed", "all" }

--- What the sandbox gives for a function in the data.
M.FUNCTION = "<function>"
M.MAX_OFFSET = 366

local quote_list = schema.quote_list

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- ------------------------------------------------------------------ the schema

local function same_message(text)
  return { required = text, type = text, match = text, len_min = text, len_max = text, one_of = text }
end

local AT = { type = "string", one_of = M.ANCHORS, description = "The cycle date it is relative to.",
  messages = { one_of = "unknown anchor {value} in at (anchors: {choices})",
    type = "unknown anchor {value} in at (anchors: {choices})" } }

local OFFSET = { type = "integer", between = { -M.MAX_OFFSET, M.MAX_OFFSET },
  description = "Days from the anchor (-3: three days before; default 0).",
  messages = { type = "offset must be a whole number of days (e.g. -3 for three days before)",
    between = ("offset {value} is out of range (%d to %d days)"):format(-M.MAX_OFFSET, M.MAX_OFFSET) } }


--- One phase.
M.PHASE = schema.record{
  title = "A phase",
  description = "The phases are listed in order and end with `{ id = \"closed\", label = \"Closed\", allows = {} }`; "
    .. "every phase must be reachable from `draft` through the transitions.",
  messages = { unknown_field = "unknown field {value} (fields: id, label, allows, description)",
    type = "{path} must be a table like { id = \"writing\", label = \"Writing\", allows = { ... } }" },
  describe = function(p) return type(p.id) == "string" and p.id or nil end,
  fields = {
    { id = { type = "string", required = true, match = "^[a-z][a-z0-9_]*$", len_max = 40,
      match_hint = "lower-case letters, digits and _, starting with a letter",
      description = "The phase's name, unique; `\"draft\"` is reserved (every cycle is a draft before it starts).",
      messages = same_message("id must be a short lower-case name like \"writing\" (letters, digits, _)"),
      custom_validator = function(v)
        if v == "draft" then return nil, "\"draft\" is the phase every cycle is in before it starts; do not list it" end
        return true
      end } },
    { label = { type = "string", required = true, match = "%S", description = "What people read.",
      messages = same_message("label must be the phase's name as people read it") } },
    { allows = { type = "array", default = {}, unique = true, description = "What people may do in it.",
      elements = { type = "string", one_of = M.ACTIVITIES,
        messages = { one_of = "unknown activity {value} in allows (activities: {choices})",
          type = "unknown activity {value} in allows (activities: {choices})" } },
      messages = { type = "allows must be a list of activities (" .. quote_list(M.ACTIVITIES) .. ")",
        unique = "{value} is listed twice in allows" } } },
    { description = { type = "string", description = "For people reading the script.",
      messages = same_message("description must be text") } },
  },
}

local function roles_text() return quote_list(M.ROLES) end

--- One transition.
M.TRANSITION = schema.record{
  title = "A transition",
  description = "Exactly one transition leaves `draft`: the start. A transition that is not listed cannot be made "
    .. "(409 Conflict); someone not in `by` gets 403.",
  messages = { unknown_field = "unknown field {value} (fields: from, to, by, event, label, at, offset)",
    type = "{path} must be a table like { from = \"writing\", to = \"closed\", by = { \"hr_admin\" } }" },
  describe = function(t)
    if type(t.from) == "string" and type(t.to) == "string" then return t.from .. " -> " .. t.to end
  end,
  fields = {
    { from = { type = "any", doc_type = "phase id", doc_required = true,
      description = "The phase it leaves (`\"draft\"` for the start)." } },
    { to = { type = "any", doc_type = "phase id", doc_required = true, description = "The phase it enters." } },
    { by = { type = "array", len_min = 1,
      description = "Who may make it by hand (one of them is enough): the company roles, or `cycle_admin`, "
        .. "`cycle_assistant` (admins and assistants of that cycle). Without it the transition only happens by itself.",
      elements = { type = "string", one_of = M.ROLES,
        messages = { one_of = "unknown role {value} in by (roles: {choices})",
          type = "unknown role {value} in by (roles: {choices})" } },
      messages = { type = function() return "by must be a list of roles (" .. roles_text() .. ")" end,
        items_min = function() return "by must be a list of roles (" .. roles_text() .. ")" end } } },
    { event = { type = "string", match = "^cycle%.[a-z][a-z0-9_]*$", match_hint = "`cycle.` and a lower-case name",
      description = "Fired when it happens (e.g. `cycle.calibration_started`); timeline steps can name it in `on`.",
      messages = same_message("event must be a name like \"cycle.calibration_started\" (cycle. then lower-case letters, "
        .. "digits, _)") } },
    { label = { type = "string", description = "The button's text (default \"Move to <phase>\").",
      messages = same_message("label must be text") } },
    { at = AT },
    { offset = OFFSET },
    { description = { type = "string", description = "For people reading the script.",
      messages = same_message("description must be text") } },
  },
  checks = {
    function(t, report)
      if t.at == nil and t.offset ~= nil then
        report("offset", "offset needs at = \"<anchor>\" (" .. quote_list(M.ANCHORS) .. ")")
      end
      if t.from == "draft" and t.at ~= nil then
        report("at", "the start cannot be automatic: a cycle starts when someone starts it")
      end
      if t.by == nil and t.at == nil then
        report("by", "by must list who may make this transition (" .. roles_text() .. "), or at = \"<anchor>\" must make "
          .. "it automatic")
      end
    end,
  },
}

local FILTER_SET = set_of(M.FILTER_ORDER)

--- One step of the timeline.
M.STEP = schema.record{
  title = "A timeline step",
  description = "Each step is either dated (`at`, with `offset`) or an event step (`on`).",
  messages = { unknown_field = "unknown field {value} (fields: on or at, offset, to, cc, only, template, during, id, label)",
    type = "{path} must be a table like { at = \"self_due\", offset = -3, to = \"reviewees\", template = "
      .. "\"review.self_reminder\" }" },
  describe = function(s)
    if type(s.on) == "string" then return "on " .. s.on elseif type(s.at) == "string" then return "at " .. s.at end
  end,
  fields = {
    { id = { type = "string", match = "^[%w_%-]+$", len_max = 40, match_hint = "letters, digits, _ and -",
      description = "The step's name (default `s<n>`, its position); it names the step's job.",
      messages = same_message("id must be a short name (letters, digits, _ and -)") } },
    { label = { type = "string", description = "A note for people reading the dry run.",
      messages = same_message("label must be text") } },
    { on = { type = "string", doc_type = "event name",
      description = "An event (see the events below, and the transitions' own).",
      messages = same_message("on must name an event, like \"review.shared\"") } },
    { at = AT },
    { offset = OFFSET },
    { to = { type = "string", required = true, one_of = M.GROUP_ORDER, description = "Who gets the mail.",
      messages = { required = "to must say who gets the mail ({choices})",
        one_of = "unknown group {value} in to (groups: {choices})", type = "unknown group {value} in to (groups: {choices})" } } },
    { cc = { type = "string", one_of = { "cycle_admins", "manager" },
      description = "A copy: the cycle's admins, or the reviewee's manager (on mails to reviewees).",
      messages = same_message("cc can be \"cycle_admins\" or \"manager\" (the reviewee's manager)") } },
    { only = { type = "any", doc_type = "filter name or function",
      description = "Which reviews count: a filter name (" .. table.concat(M.FILTER_ORDER, ", ")
        .. "; see Filters below), or `function(review, cycle)` returning true or false.",
      custom_validator = function(v)
        if v == M.FUNCTION or FILTER_SET[v] then return true end
        return nil, "unknown filter {value} in only (filters: " .. quote_list(M.FILTER_ORDER)
          .. "; or a function(review, cycle) returning true or false)"
      end } },
    { template = { type = "string", required = true,
      description = "The name of a mail template (see Mail templates below).",
      messages = same_message("template must name a mail template (e.g. \"review.self_reminder\")"),
      custom_validator = function(v)
        if mail.templates[v] then return true end
        local names = {}
        for name in pairs(mail.templates) do if name:match("^review%.") then names[#names + 1] = name end end
        table.sort(names)
        return nil, "unknown mail template {value} (review templates: " .. quote_list(names) .. ")"
      end } },
    { during = { type = "array", len_min = 1, elements = { type = "string", doc_type = "phase id" },
      description = "The step only runs while the cycle is in one of these phases.",
      messages = same_message("during must be a list of phase ids") } },
  },
  checks = {
    function(s, report)
      if (s.on == nil) == (s.at == nil) then
        report(nil, "a step has either on = \"<event>\" or at = \"<anchor>\" (with an offset in days)")
      elseif s.on ~= nil and s.offset ~= nil then
        report("offset", "offset only goes with at = \"<anchor>\"")
      end
      if s.cc == "manager" and s.to ~= "reviewees" and s.to ~= "reviewee" then
        report("cc", "cc = \"manager\" copies the manager on mails to reviewees; this step goes to " .. tostring(s.to),
          s.cc)
      elseif s.cc ~= nil and s.cc == s.to then
        report("cc", "cc names the same people as to", s.cc)
      end
    end,
  },
}

local SHAPE = "name, phases, transitions and timeline"

--- The table a workflow script returns.
M.SCRIPT = schema.record{
  title = "The script",
  description = "What a workflow script returns. Any other field is an error (a typo such as `timline` is caught).",
  messages = { unknown_field = "unknown field {value} at the top of the script (fields: name, description, phases, "
    .. "transitions, timeline)" },
  fields = {
    { name = { type = "string", required = true, match = "%S", len_max = 100, description = "The workflow's name.",
      messages = { required = "name must be the workflow's name, as text (e.g. name = \"Performance review\")",
        type = "name must be the workflow's name, as text (e.g. name = \"Performance review\")",
        match = "name must be the workflow's name, as text (e.g. name = \"Performance review\")",
        len_max = "name is longer than 100 characters" } } },
    { description = { type = "string", description = "What it is for.", messages = same_message("description must be text") } },
    { phases = { type = "array", required = true, len_min = 1, elements = M.PHASE, description = "The phases, in order.",
      messages = same_message("phases must be a list of phases, e.g. { id = \"writing\", label = \"Writing\", allows = "
        .. "{ \"self_write\" } }, ending with { id = \"closed\", ... }") } },
    { transitions = { type = "array", required = true, elements = M.TRANSITION,
      description = "Who moves the cycle from one phase to another.",
      messages = same_message("transitions must be a list, e.g. { from = \"draft\", to = \"writing\", by = { \"hr_admin\" }, "
        .. "event = \"cycle.started\" }") } },
    { timeline = { type = "array", required = true, elements = M.STEP, description = "Every notification.",
      messages = same_message("timeline must be a list of steps, e.g. { on = \"cycle.started\", to = \"reviewees\", "
        .. "template = \"review.invite\" }") } },
  },
}

-- ------------------------------------------------------------------ checks across fields

local function where(kind, i, e)
  local d = kind.describe(e)
  return d and ("%s[%d] (%s)"):format(kind == M.PHASE and "phases" or (kind == M.TRANSITION and "transitions"
    or "timeline"), i, d) or ("%s[%d]"):format(kind == M.PHASE and "phases" or (kind == M.TRANSITION and "transitions"
    or "timeline"), i)
end

-- The problems that need several fields at once; d is the validated data. Adds to probs.
local function across(d, bad)
  local phase_by_id, ids = {}, {}
  for i, p in ipairs(d.phases) do
    if phase_by_id[p.id] then
      bad({ value = p.id }, "%s: the phase id %q is used twice", where(M.PHASE, i, p), p.id)
    else
      phase_by_id[p.id] = p
    end
    ids[#ids + 1] = p.id
  end
  if not phase_by_id.closed then
    bad({ key = "phases" }, "phases must end with the phase { id = \"closed\", label = \"Closed\", allows = {} }: every "
      .. "cycle can be closed")
  elseif d.phases[#d.phases].id ~= "closed" then
    bad({ value = "closed" }, "the phase \"closed\" must be the last one in phases")
  end
  -- transitions
  local from_draft, pairs_seen, events, good = 0, {}, {}, {}
  for i, tr in ipairs(d.transitions) do
    local w = where(M.TRANSITION, i, tr)
    local ok = true
    if type(tr.from) ~= "string" or not (tr.from == "draft" or phase_by_id[tr.from]) then
      bad({ value = tr.from }, "%s: from %s is not a phase (phases: \"draft\", %s)", w,
        type(tr.from) == "string" and ("%q"):format(tr.from) or "is missing or", quote_list(ids))
      ok = false
    end
    if type(tr.to) ~= "string" or not phase_by_id[tr.to] then
      bad({ value = tr.to }, "%s: to %s is not a phase (phases: %s)", w,
        type(tr.to) == "string" and ("%q"):format(tr.to) or "is missing or", quote_list(ids))
      ok = false
    end
    if ok and tr.from == tr.to then
      bad({ value = tr.to }, "%s: a transition must lead to another phase", w)
      ok = false
    end
    if ok then
      local key = tr.from .. ">" .. tr.to
      if pairs_seen[key] then
        bad({ value = tr.to }, "%s: there is already a transition from %q to %q (transitions[%d])", w, tr.from, tr.to,
          pairs_seen[key])
      end
      pairs_seen[key] = i
      if tr.from == "draft" then from_draft = from_draft + 1 end
      good[#good + 1] = tr
    end
    if tr.event then events[tr.event] = true end
  end
  if from_draft ~= 1 then
    bad({ key = "transitions" }, "there must be exactly one transition from \"draft\" (the start of the cycle); found %d",
      from_draft)
  else
    local reach, queue = { draft = true }, { "draft" }
    while #queue > 0 do
      local cur = table.remove(queue, 1)
      for _, t in ipairs(good) do
        if t.from == cur and not reach[t.to] then
          reach[t.to] = true
          queue[#queue + 1] = t.to
        end
      end
    end
    for _, p in ipairs(d.phases) do
      if not reach[p.id] then
        bad({ value = p.id }, "phases: no transition leads to the phase %q, so no cycle could ever reach it", p.id)
      end
    end
  end
  -- timeline
  local all_events = {}
  for name in pairs(M.EVENTS) do all_events[#all_events + 1] = name end
  for name in pairs(events) do if not M.EVENTS[name] then all_events[#all_events + 1] = name end end
  table.sort(all_events)
  local step_ids = {}
  for i, s in ipairs(d.timeline) do
    local w = where(M.STEP, i, s)
    local kind = "dated"
    if s.on ~= nil then
      local ek = M.EVENTS[s.on] or (events[s.on] and "cycle")
      if not ek then
        bad({ value = s.on }, "%s: unknown event %q (events: %s)", w, s.on, quote_list(all_events))
        kind = nil
      else
        kind = ek .. "_event"
      end
    end
    local g = M.GROUPS[s.to]
    if kind and not g[kind] then
      local ok_groups = {}
      for _, name in ipairs(M.GROUP_ORDER) do if M.GROUPS[name][kind] then ok_groups[#ok_groups + 1] = name end end
      bad({ value = s.to }, "%s: to = %q does not fit a %s (use %s)", w, s.to,
        kind == "dated" and "dated step" or (kind == "review_event" and "review event" or "cycle event"),
        quote_list(ok_groups))
    end
    for _, ph in ipairs(s.during or {}) do
      if not phase_by_id[ph] then bad({ value = ph }, "%s: during names %q, which is not a phase", w, ph) end
    end
    local id = s.id or ("s" .. i)
    if step_ids[id] then bad({ value = id }, "%s: the step id %q is used twice", w, id) end
    step_ids[id] = true
    s.kind = kind
  end
  return phase_by_id, events
end

-- The definition the engine runs, from validated data.
local function definition(d, phase_by_id, events)
  local def = { name = d.name, description = d.description, phases = {}, phase_by_id = {}, transitions = {},
    timeline = {}, events = events }
  for i, p in ipairs(d.phases) do
    local ph = { id = p.id, label = p.label, allows = set_of(p.allows), allows_list = p.allows,
      description = p.description, index = i }
    def.phases[i] = ph
    def.phase_by_id[p.id] = ph
  end
  for i, tr in ipairs(d.transitions) do
    local by = tr.by or {}
    def.transitions[i] = { index = i, from = tr.from, to = tr.to, by = by, by_set = set_of(by), event = tr.event,
      label = tr.label or ("Move to " .. phase_by_id[tr.to].label), at = tr.at,
      offset = tr.at and (tr.offset or 0) or nil }
  end
  for i, s in ipairs(d.timeline) do
    def.timeline[i] = { index = i, id = s.id or ("s" .. i), kind = s.kind, on = s.on, at = s.at,
      offset = s.at and (s.offset or 0) or nil, to = s.to, cc = s.cc, only = s.only, only_fn = s.only == M.FUNCTION,
      template = s.template, during = s.during and set_of(s.during) or nil, label = s.label }
  end
  return def
end

--- Checks the data a script returned. Returns the definition the engine runs, or nil and the
--- problems: { { message =, hint = { key = } | { value = } }, ... } (the hint finds the line).
function M.check(d)
  local probs = {}
  local function bad(hint, fmt, ...)
    probs[#probs + 1] = { message = fmt:format(...), hint = hint }
  end
  if type(d) ~= "table" then
    bad(nil, "the script must return a table with %s (it returned %s)", SHAPE, d == nil and "nothing" or type(d))
    return nil, probs
  end
  local v, errs = schema.validate(M.SCRIPT, d)
  if not v then
    for _, e in ipairs(errs) do
      local hint
      if e.code == "unknown_field" then hint = { key = e.field }
      elseif e.value ~= nil and type(e.value) ~= "table" then hint = { value = e.value }
      elseif type(e.field) == "string" then hint = { key = e.field } end
      probs[#probs + 1] = { message = (e.where ~= "" and (e.where .. ": ") or "") .. e.message, hint = hint }
    end
    return nil, probs
  end
  local phase_by_id, events = across(v, bad)
  if #probs > 0 then return nil, probs end
  return definition(v, phase_by_id, events)
end

--- The field reference of workflow scripts (Markdown), for docs/scripting.md.
function M.reference()
  return schema.markdown(M.SCRIPT, { level = 3 })
end

return M
