-- What a cycle workflow script may say: the declarative schema of the table it returns
-- (lib/schema.lua: types, allowed values, bounds, unknown fields refused; it also generates the
-- field reference in docs/scripting.md), and the checks that span fields (a transition's phases
-- exist, every phase is reachable, a group and a filter fit their step). The words a script
-- uses (anchors, activities, events, recipient groups, filters, templates) belong to its kind
-- of cycle, declared by the module that owns the cycles (services/workflows.lua define_kind);
-- the schema is built from them, once per kind. check(data, kind) turns a script's data into
-- the definition the engine runs, or names every problem with its entry.
local schema = require "lib.schema"
local policy = require "lib.policy"
local util = require "lib.util"
local mail = require "services.mail"

local M = {}

-- ------------------------------------------------------------------ common words

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

--- What the sandbox gives for a function in the data.
M.FUNCTION = "<function>"
M.MAX_OFFSET = 366
--- The longest batch of a step, in minutes (a day).
M.MAX_BATCH = 24 * 60

local quote_list = schema.quote_list

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function same_message(text)
  return { required = text, type = text, match = text, len_min = text, len_max = text, one_of = text }
end

-- ------------------------------------------------------------------ the schema of a kind

local function build(kind)
  local area = kind.area
  local AT = { type = "string", one_of = kind.anchor_order, doc_values = "an anchor of the kind (its words below)",
    description = "The cycle date it is relative to.",
    messages = { one_of = "unknown anchor {value} in at (anchors: {choices})",
      type = "unknown anchor {value} in at (anchors: {choices})" } }

  local OFFSET = { type = "integer", between = { -M.MAX_OFFSET, M.MAX_OFFSET },
    description = "Days from the anchor (-3: three days before; default 0).",
    messages = { type = "offset must be a whole number of days (e.g. -3 for three days before)",
      between = ("offset {value} is out of range (%d to %d days)"):format(-M.MAX_OFFSET, M.MAX_OFFSET) } }

  local PHASE = schema.record{
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
        doc_values = "activities of the kind (its words below)",
        elements = { type = "string", one_of = kind.activity_order,
          messages = { one_of = "unknown activity {value} in allows (activities: {choices})",
            type = "unknown activity {value} in allows (activities: {choices})" } },
        messages = { type = "allows must be a list of activities (" .. quote_list(kind.activity_order) .. ")",
          unique = "{value} is listed twice in allows" } } },
      { description = { type = "string", description = "For people reading the script.",
        messages = same_message("description must be text") } },
    },
  }

  local function roles_text() return quote_list(M.ROLES) end
  local example = ("%s.calibration_started"):format(area)

  local TRANSITION = schema.record{
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
      { event = { type = "string", match = "^" .. area:gsub("_", "%%_") .. "%.[a-z][a-z0-9_]*$",
        match_hint = "the kind's cycle events' area (`cycle.` for reviews, `feedback_cycle.` for 360 feedback) and a "
          .. "lower-case name",
        description = "Fired when it happens (e.g. `cycle.calibration_started`); timeline steps can name it in `on`.",
        messages = same_message(("event must be a name like %q (%s. then lower-case letters, digits, _)")
          :format(example, area)) } },
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
          report("offset", "offset needs at = \"<anchor>\" (" .. quote_list(kind.anchor_order) .. ")")
        end
        if t.from == "draft" and t.at ~= nil then
          report("at", "the start cannot be automatic: a cycle starts when someone starts it")
        end
        if t.by == nil and t.at == nil then
          report("by", "by must list who may make this transition (" .. roles_text() .. "), or at = \"<anchor>\" must "
            .. "make it automatic")
        end
      end,
    },
  }

  local filter_set = set_of(kind.filter_order)
  local cc_names = { "cycle_admins" }
  for _, name in ipairs(kind.cc_order) do cc_names[#cc_names + 1] = name end
  local cc_words = { '"cycle_admins" (the cycle\'s admins)' }
  for _, name in ipairs(kind.cc_order) do cc_words[#cc_words + 1] = ("%q (%s)"):format(name, kind.cc[name].hint) end

  local STEP = schema.record{
    title = "A timeline step",
    description = "Each step is either dated (`at`, with `offset`) or an event step (`on`).",
    messages = { unknown_field = "unknown field {value} (fields: on or at, offset, to, cc, only, template, during, batch, "
      .. "id, label)",
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
        description = "An event of the kind (its words below), or one a transition names.",
        messages = same_message("on must name an event, like \"review.shared\"") } },
      { at = AT },
      { offset = OFFSET },
      { to = { type = "string", required = true, one_of = kind.group_order, doc_values = "a group of the kind (its words "
        .. "below)", description = "Who gets the mail.",
        messages = { required = "to must say who gets the mail ({choices})",
          one_of = "unknown group {value} in to (groups: {choices})",
          type = "unknown group {value} in to (groups: {choices})" } } },
      { cc = { type = "string", one_of = cc_names, doc_values = "`\"cycle_admins\"`, or a copy the kind offers",
        description = "A copy: the cycle's admins, or e.g. the reviewee's manager on mails to reviewees.",
        messages = same_message("cc can be " .. table.concat(cc_words, " or ")) } },
      { only = { type = "any", doc_type = "filter name or function",
        description = "Which items count: a filter of the kind (its words below), or `function(item, cycle)` returning "
          .. "true or false.",
        custom_validator = function(v)
          if v == M.FUNCTION or filter_set[v] then return true end
          return nil, "unknown filter {value} in only (filters: " .. quote_list(kind.filter_order)
            .. "; or a function(" .. kind.main_item .. ", cycle) returning true or false)"
        end } },
      { template = { type = "string", required = true,
        description = "The name of a mail template (the kind's templates below).",
        messages = same_message(("template must name a mail template (e.g. %q)"):format(kind.template_example)),
        custom_validator = function(v)
          if mail.templates[v] then return true end
          local names = {}
          for name in pairs(mail.templates) do
            if util.starts_with(name, kind.template_prefix) then names[#names + 1] = name end
          end
          table.sort(names)
          return nil, ("unknown mail template {value} (%s templates: %s)"):format(kind.template_prefix:sub(1, -2),
            quote_list(names))
        end } },
      { during = { type = "array", len_min = 1, elements = { type = "string", doc_type = "phase id" },
        description = "The step only runs while the cycle is in one of these phases.",
        messages = same_message("during must be a list of phase ids") } },
      { batch = { type = "integer", between = { 1, M.MAX_BATCH },
        description = "Event steps about single items only: minutes during which everything this step would send one "
          .. "person is gathered into one mail, sent when the first item is that old.",
        messages = { type = ("batch must be a whole number of minutes from 1 to %d"):format(M.MAX_BATCH),
          between = ("batch must be a whole number of minutes from 1 to %d"):format(M.MAX_BATCH) } } },
    },
    checks = {
      function(s, report)
        if (s.on == nil) == (s.at == nil) then
          report(nil, "a step has either on = \"<event>\" or at = \"<anchor>\" (with an offset in days)")
        elseif s.on ~= nil and s.offset ~= nil then
          report("offset", "offset only goes with at = \"<anchor>\"")
        end
        local extra = s.cc and kind.cc[s.cc]
        if extra and not extra.groups[s.to] then
          local to = {}
          for name in pairs(extra.groups) do to[#to + 1] = name end
          table.sort(to)
          report("cc", ("cc = %q copies %s on mails to %s; this step goes to %s"):format(s.cc, extra.hint,
            table.concat(to, " or "), tostring(s.to)), s.cc)
        elseif s.cc ~= nil and s.cc == s.to then
          report("cc", "cc names the same people as to", s.cc)
        end
      end,
    },
  }

  local SCRIPT = schema.record{
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
      { phases = { type = "array", required = true, len_min = 1, elements = PHASE, description = "The phases, in order.",
        messages = same_message("phases must be a list of phases, e.g. { id = \"writing\", label = \"Writing\", allows = "
          .. "{ \"self_write\" } }, ending with { id = \"closed\", ... }") } },
      { transitions = { type = "array", required = true, elements = TRANSITION,
        description = "Who moves the cycle from one phase to another.",
        messages = same_message("transitions must be a list, e.g. { from = \"draft\", to = \"writing\", by = { "
          .. "\"hr_admin\" }, event = \"cycle.started\" }") } },
      { timeline = { type = "array", required = true, elements = STEP, description = "Every notification.",
        messages = same_message("timeline must be a list of steps, e.g. { on = \"cycle.started\", to = \"reviewees\", "
          .. "template = \"review.invite\" }") } },
    },
  }
  return { SCRIPT = SCRIPT, PHASE = PHASE, TRANSITION = TRANSITION, STEP = STEP }
end

--- The schemas of a kind's scripts: { SCRIPT, PHASE, TRANSITION, STEP } (built once).
function M.schema(kind)
  kind.script_schema = kind.script_schema or build(kind)
  return kind.script_schema
end

-- ------------------------------------------------------------------ checks across fields

local SECTION = { PHASE = "phases", TRANSITION = "transitions", STEP = "timeline" }

local function where(s, name, i, e)
  local d = s[name].describe(e)
  return d and ("%s[%d] (%s)"):format(SECTION[name], i, d) or ("%s[%d]"):format(SECTION[name], i)
end

--- The item type a step's rows are: the event's for an event about items, else its group's.
function M.item_type(kind, step_kind, group)
  local t = step_kind and step_kind:match("^(.-)_event$")
  if t and t ~= "cycle" then return t end
  return (kind.groups[group] and kind.groups[group].item) or kind.main_item
end

-- The problems that need several fields at once; d is the validated data.
local function across(d, kind, bad)
  local s = M.schema(kind)
  local phase_by_id, ids = {}, {}
  for i, p in ipairs(d.phases) do
    if phase_by_id[p.id] then
      bad({ value = p.id }, "%s: the phase id %q is used twice", where(s, "PHASE", i, p), p.id)
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
    local w = where(s, "TRANSITION", i, tr)
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
  for name in pairs(kind.events) do all_events[#all_events + 1] = name end
  for name in pairs(events) do if not kind.events[name] then all_events[#all_events + 1] = name end end
  table.sort(all_events)
  local step_ids = {}
  for i, st in ipairs(d.timeline) do
    local w = where(s, "STEP", i, st)
    local when = "dated" -- "dated" | "cycle_event" | "<item>_event"
    if st.on ~= nil then
      local about = kind.events[st.on] or (events[st.on] and "cycle")
      if not about then
        bad({ value = st.on }, "%s: unknown event %q (events: %s)", w, st.on, quote_list(all_events))
        when = nil
      else
        when = about .. "_event"
      end
    end
    local g = kind.groups[st.to]
    if when and not g[when] then
      local ok_groups = {}
      for _, name in ipairs(kind.group_order) do if kind.groups[name][when] then ok_groups[#ok_groups + 1] = name end end
      bad({ value = st.to }, "%s: to = %q does not fit a %s (use %s)", w, st.to,
        when == "dated" and "dated step" or (when:gsub("_event$", " event")), quote_list(ok_groups))
      when = nil
    end
    local filter = st.only ~= nil and st.only ~= M.FUNCTION and kind.filters[st.only]
    if when and filter and filter.item and filter.item ~= M.item_type(kind, when, st.to) then
      bad({ value = st.only }, "%s: the filter %q is about %ss, but this step is about %ss", w, st.only, filter.item,
        M.item_type(kind, when, st.to))
    end
    if st.batch ~= nil and when and (when == "dated" or when == "cycle_event") then
      bad({ key = "batch" }, "%s: batch gathers the mails of an event about single items; a dated or cycle step sends "
        .. "one mail per person already", w)
    end
    for _, ph in ipairs(st.during or {}) do
      if not phase_by_id[ph] then bad({ value = ph }, "%s: during names %q, which is not a phase", w, ph) end
    end
    local id = st.id or ("s" .. i)
    if step_ids[id] then bad({ value = id }, "%s: the step id %q is used twice", w, id) end
    step_ids[id] = true
    st.kind = when
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
      template = s.template, during = s.during and set_of(s.during) or nil, batch = s.batch, label = s.label }
  end
  return def
end

local SHAPE = "name, phases, transitions and timeline"

--- Checks the data a script of this kind returned. Returns the definition the engine runs, or
--- nil and the problems: { { message =, hint = { key = } | { value = } }, ... } (the hint finds
--- the line).
function M.check(d, kind)
  local probs = {}
  local function bad(hint, fmt, ...)
    probs[#probs + 1] = { message = fmt:format(...), hint = hint }
  end
  if type(d) ~= "table" then
    bad(nil, "the script must return a table with %s (it returned %s)", SHAPE, d == nil and "nothing" or type(d))
    return nil, probs
  end
  local v, errs = schema.validate(M.schema(kind).SCRIPT, d)
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
  local phase_by_id, events = across(v, kind, bad)
  if #probs > 0 then return nil, probs end
  return definition(v, phase_by_id, events)
end

-- ------------------------------------------------------------------ reference

--- The field reference of workflow scripts (Markdown, the same for every kind: the values a
--- kind allows are its words, see words()), for docs/scripting.md.
function M.reference(kind)
  return schema.markdown(M.schema(kind).SCRIPT, { level = 3 })
end

local function code_list(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = "`" .. v .. "`" end
  return table.concat(out, ", ")
end

--- The words of one kind (Markdown): its anchors, activities, events, groups, copies, filters
--- and templates, from its declaration, for docs/scripting.md.
function M.words(kind)
  local lines = { ("### The words of %s (`workflows/%s.lua`)\n"):format(kind.label, kind.name),
    "| word | values |", "|---|---|" }
  local function row(name, text) lines[#lines + 1] = ("| %s | %s |"):format(name, text:gsub("|", "\\|")) end
  local anchors = {}
  for i, a in ipairs(kind.anchor_order) do
    anchors[i] = ("`%s` (%s, column `%s`)"):format(a, kind.anchor_labels[a], kind.anchor_column[a])
  end
  row("anchors (`at`)", table.concat(anchors, "; "))
  local acts = {}
  for i, a in ipairs(kind.activity_order) do acts[i] = ("`%s` (%s)"):format(a, kind.activity_labels[a]) end
  row("activities (`allows`)", table.concat(acts, "; "))
  local evs = {}
  for i, e in ipairs(kind.event_order) do
    local about = kind.events[e]
    evs[i] = ("`%s` (%s)"):format(e, about == "cycle" and "the cycle" or ("one " .. about))
  end
  row("events (`on`)", table.concat(evs, "; ") .. (". Transitions may name their own `%s.<name>` events (about the "
    .. "cycle)."):format(kind.area))
  local groups = {}
  for i, name in ipairs(kind.group_order) do
    local g, fits = kind.groups[name], {}
    if g.dated then fits[#fits + 1] = "dated steps" end
    if g.cycle_event then fits[#fits + 1] = "cycle events" end
    for _, t in ipairs(kind.item_order) do
      if g[t .. "_event"] then fits[#fits + 1] = t .. " events" end
    end
    groups[i] = ("`%s` (%s; on %s)"):format(name, g.label, table.concat(fits, ", "))
  end
  row("groups (`to`)", table.concat(groups, "; "))
  local ccs = { "`cycle_admins` (the cycle's admins and assistants)" }
  for _, name in ipairs(kind.cc_order) do
    local to = {}
    for n in pairs(kind.cc[name].groups) do to[#to + 1] = n end
    table.sort(to)
    ccs[#ccs + 1] = ("`%s` (%s, on mails to %s)"):format(name, kind.cc[name].hint, code_list(to))
  end
  row("copies (`cc`)", table.concat(ccs, "; "))
  local fs = {}
  for i, name in ipairs(kind.filter_order) do
    local f = kind.filters[name]
    fs[i] = ("`%s` (%s%s)"):format(name, f.label, f.item and (", about " .. f.item .. "s") or "")
  end
  row("filters (`only`)", table.concat(fs, "; "))
  local items = {}
  for i, t in ipairs(kind.item_order) do items[i] = ("`%s` (%s)"):format(t, kind.items[t].description) end
  row("what `only` functions get", table.concat(items, "; ") .. ", and the cycle's dates and settings")
  local names = {}
  for name in pairs(mail.templates) do
    if util.starts_with(name, kind.template_prefix) then names[#names + 1] = name end
  end
  table.sort(names)
  row("templates", code_list(names))
  return table.concat(lines, "\n") .. "\n"
end

return M
