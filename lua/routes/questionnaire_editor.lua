-- The questionnaire editor every kind of cycle uses (a helper of route modules, not one
-- itself): the form's fields to a questionnaire and back, the page with every problem at its
-- field and listed at the top. The kind's profile (services/questionnaire.lua PROFILES) says
-- which kinds of question it offers, whether they name who answers them and whether one can
-- be required.
local page = require "lib.page"
local util = require "lib.util"
local questionnaire = require "services.questionnaire"

local M = {}

local function lines(s)
  local out = {}
  for l in (s or ""):gmatch("[^\n\r]+") do out[#out + 1] = util.trim(l) end
  return out
end

--- Rebuilds a questionnaire from the editor's form fields and the button pressed: returns the
--- questionnaire, the operation ("save", "add_question:S", "add_section", "remove:S:Q",
--- "up:S:Q", "down:S:Q", "remove_section:S") and the id of the part of the page to show next
--- (the question added or moved).
function M.from_form(f, profile_name)
  local profile = questionnaire.PROFILES[profile_name or "review"]
  local new_audience = profile.audiences and "both" or nil
  local q = { sections = {} }
  local si = 1
  while f["s" .. si .. "_title"] ~= nil do
    local s = { id = f["s" .. si .. "_id"], title = f["s" .. si .. "_title"], questions = {} }
    local qi = 1
    while f[("s%d_q%d_text"):format(si, qi)] ~= nil do
      local p = ("s%d_q%d_"):format(si, qi)
      s.questions[#s.questions + 1] = { id = f[p .. "id"], type = f[p .. "type"], text = f[p .. "text"],
        audience = profile.audiences and f[p .. "audience"] or nil, required = f[p .. "required"] == "on",
        scale = tonumber(f[p .. "scale"]), labels = lines(f[p .. "labels"]), x_label = f[p .. "x_label"],
        y_label = f[p .. "y_label"], options = lines(f[p .. "options"]), multiple = f[p .. "multiple"] == "on" }
      qi = qi + 1
    end
    q.sections[#q.sections + 1] = s
    si = si + 1
  end
  local op = f.op or "save"
  local used = {}
  for _, s in ipairs(q.sections) do for _, x in ipairs(s.questions) do if x.id then used[x.id] = true end end end
  local function new_id()
    local n = 1
    while used["q" .. n] do n = n + 1 end
    used["q" .. n] = true
    return "q" .. n
  end
  local function blank() return { id = new_id(), type = "text", text = "", audience = new_audience, required = false } end
  local kind, a, b = op:match("^([%w_]+):?(%d*):?(%d*)$")
  a, b = tonumber(a), tonumber(b)
  local anchor
  if kind == "add_section" then
    q.sections[#q.sections + 1] = { id = "s" .. (#q.sections + 1), title = "", questions = { blank() } }
    anchor = "s" .. #q.sections
  elseif kind == "add_question" and q.sections[a] then
    table.insert(q.sections[a].questions, blank())
    anchor = ("s%d_q%d"):format(a, #q.sections[a].questions)
  elseif kind == "remove" and q.sections[a] and q.sections[a].questions[b] then
    table.remove(q.sections[a].questions, b)
    anchor = "s" .. a
  elseif kind == "remove_section" and q.sections[a] then
    table.remove(q.sections, a)
  elseif (kind == "up" or kind == "down") and q.sections[a] then
    local list = q.sections[a].questions
    local to = kind == "up" and b - 1 or b + 1
    if list[b] and list[to] then
      list[b], list[to] = list[to], list[b]
      anchor = ("s%d_q%d"):format(a, to)
    end
  end
  return q, (kind == "save" or kind == nil) and "save" or op, anchor
end

-- A problem's path from the questionnaire check ("sections[2].questions[3].scale") as the id
-- of the editor's field ("s2_q3_scale"), and its place in the form's order.
local FIELD_ORDER = { title = 0, text = 1, type = 2, audience = 3, scale = 4, labels = 5, options = 6, x_label = 7,
  y_label = 8, id = 9 }

local function problem_field(path)
  local si, rest = path:match("^sections%[(%d+)%]%.?(.*)$")
  if not si then return "questions", { 0, 0, 0 } end
  local qi, field = rest:match("^questions%[(%d+)%]%.?(.*)$")
  if qi then
    field = field ~= "" and field or nil
    return ("s%s_q%s"):format(si, qi) .. (field and field ~= "id" and ("_" .. field) or ""),
      { tonumber(si), tonumber(qi), FIELD_ORDER[field] or 10 }
  end
  return "s" .. si .. (rest == "title" and "_title" or ""), { tonumber(si), 0, 0 }
end

local INTRO = {
  review = "free text, a rating on a scale you label, or the 2D graph (placed by the reviewee, or by both: the manager places the reviewee too)",
  feedback = "free text, a rating on a scale you label, or multiple choice",
}

--- The editor page. o: cycle, q (the questionnaire), profile (name), action (where it posts),
--- back (Cancel), crumbs ({ {label, href} }), locked, nav, problems (the check's fields,
--- { [path] = message }, after a refused save: each shown at its field and listed at the top).
function M.page(req, o)
  local q = o.q
  local errs, summary = {}, {}
  for path, message in pairs(o.problems or {}) do
    local id, order = problem_field(path)
    errs[id] = message
    local s = q.sections and q.sections[order[1]]
    local where = order[2] > 0 and (s and util.trim(s.title or "") ~= "" and ("Question %d in “%s”"):format(order[2], util.trim(s.title))
      or ("Question %d in section %d"):format(order[2], order[1]))
      or (order[1] > 0 and ("Section %d"):format(order[1]) or "The questions")
    summary[#summary + 1] = { href = "#" .. id, where = where, message = message, order = order }
  end
  table.sort(summary, function(a, b)
    for i = 1, 3 do if a.order[i] ~= b.order[i] then return a.order[i] < b.order[i] end end
    return a.href < b.href
  end)
  return page.render(req, "cycle_questions", { title = "Questions of " .. o.cycle.name, cycle = o.cycle, q = q,
    errs = errs, summary = summary, types = questionnaire.TYPES, audiences = questionnaire.AUDIENCES,
    locked = o.locked, profile = questionnaire.PROFILES[o.profile], intro = INTRO[o.profile], action = o.action,
    back = o.back, crumbs = o.crumbs }, { nav = o.nav })
end

return M
