-- Questionnaires of cycles: sections of questions, each free text, a rating on a labelled
-- scale (1..N chosen per question), multiple choice (pick one, or several) or the 2D graph
-- with two named axes (placed by the reviewee, or by both: the manager places the reviewee too).
--
-- What a kind of cycle may ask is its profile. Reviews: text, rating and graph; required or
-- optional; answered by the reviewee ("self"), the manager ("manager"), or both ("both"); a
-- manager question can be private to managers and HR. 360 feedback: text, rating and multiple
-- choice, every question skippable, all answered by each reviewer.
local errors = require "lib.errors"
local json = require "lib.json"
local util = require "lib.util"

local M = {}

M.TYPES = { text = "Free text", rating = "Rating", graph = "2D graph", choice = "Multiple choice" }
M.AUDIENCES = { both = "Reviewee and manager", self = "Reviewee only", manager = "Manager only",
  manager_private = "Manager only, hidden from the reviewee" }

--- What each kind of cycle may ask: types (in menu order), audiences (questions say who
--- answers them), required (a question may be required; else every question is skippable),
--- kinds (the kinds named in messages).
M.PROFILES = {
  review = { types = { "text", "rating", "graph" }, audiences = true, required = true,
    kinds = "free text, rating or 2D graph" },
  feedback = { types = { "text", "rating", "choice" }, audiences = false, required = false,
    kinds = "free text, rating or multiple choice" },
}

--- The questionnaire a new 360 cycle starts with: what went well, what to improve.
function M.default_feedback()
  return {
    sections = {
      { id = "s1", title = "Feedback", questions = {
        { id = "q1", type = "text", text = "What does this person do well? What should they keep doing?" },
        { id = "q2", type = "text", text = "What could they do better, or start doing?" },
      } },
    },
  }
end

--- The questionnaire a new cycle starts with.
function M.default()
  return {
    sections = {
      { id = "s1", title = "Looking back", questions = {
        { id = "q1", type = "text", text = "What went well in this period? What are you proud of?", audience = "both", required = true },
        { id = "q2", type = "text", text = "What was hard, and what would you do differently?", audience = "both", required = false },
      } },
      { id = "s2", title = "Where you stand", questions = {
        { id = "q3", type = "graph", text = "Skill and motivation today: place a dot on the graph.", audience = "both",
          required = false,
          x_label = "Skill", y_label = "Motivation" },
        { id = "q4", type = "rating", text = "Overall performance", audience = "manager", required = true, scale = 5,
          labels = { "Well below expectations", "Below expectations", "Meets expectations", "Exceeds expectations",
            "Far exceeds expectations" } },
        { id = "q5", type = "text", text = "Notes for calibration (not shown to the reviewee)", audience = "manager_private",
          required = false },
      } },
      { id = "s3", title = "Looking ahead", questions = {
        { id = "q6", type = "text", text = "What should the focus be for the next period?", audience = "both", required = true },
      } },
    },
  }
end

-- Problems are collected, not stopped at: each names where it is (a path such as
-- "sections[2].questions[3].scale", which the API returns and the editor maps to its field)
-- and says in plain words what to do.
local function problems_list()
  local list = {}
  local function add(path, where, message) list[#list + 1] = { path = path, where = where, message = message } end
  return list, add
end

local function raise_problems(list)
  local fields = {}
  for _, p in ipairs(list) do
    if not fields[p.path] then fields[p.path] = p.message end
  end
  local first = list[1]
  local message = (first.where and (first.where .. ": ") or "") .. first.message
  if #list > 1 then message = ("%d things to fix in the questions. %s"):format(#list, message) end
  errors.invalid(fields, message)
end

local function trim(v) return type(v) == "string" and (v:gsub("^%s+", ""):gsub("%s+$", "")) or "" end

--- Checks and normalises a questionnaire (a table or JSON text) for a profile (a name of
--- M.PROFILES, default "review"). Returns the table; raises 422 with every problem found,
--- fields = { [path] = message }.
function M.validate(q, profile_name)
  local profile = M.PROFILES[profile_name or "review"]
  local allowed = {}
  for _, k in ipairs(profile.types) do allowed[k] = true end
  local list, add = problems_list()
  if type(q) == "string" then
    local v = json.decode(q)
    if type(v) ~= "table" then add("questionnaire", nil, "The questions are not valid JSON.") raise_problems(list) end
    q = v
  end
  if type(q) ~= "table" or type(q.sections) ~= "table" then
    add("sections", nil, "The questions need a list of sections.")
    raise_problems(list)
  end
  local ids = {}
  local out = { sections = {} }
  for si, s in ipairs(q.sections) do
    local sp = ("sections[%d]"):format(si)
    local title = type(s) == "table" and trim(s.title) or ""
    local where = title ~= "" and ("Section “%s”"):format(title) or ("Section %d"):format(si)
    if type(s) ~= "table" then
      add(sp, where, "This section is not an object.")
      s = { questions = {} }
    end
    if title == "" then add(sp .. ".title", where, "Give the section a title.")
    elseif not utf8.len(title) then add(sp .. ".title", where, "The title is not valid text.")
    elseif utf8.len(title) > 200 then add(sp .. ".title", where, "Keep the title under 200 characters.") end
    local sec = { id = type(s.id) == "string" and s.id or ("s" .. si), title = title, questions = {} }
    if type(s.questions) ~= "table" then add(sp .. ".questions", where, "The section needs a list of questions.") end
    for qi, x in ipairs(type(s.questions) == "table" and s.questions or {}) do
      local qp = ("%s.questions[%d]"):format(sp, qi)
      local w = title ~= "" and ("Question %d in “%s”"):format(qi, title) or ("Question %d in section %d"):format(qi, si)
      if type(x) ~= "table" then
        add(qp, w, "This question is not an object.")
      else
        local id = x.id
        if type(id) ~= "string" or not id:match("^[%w_%-]+$") or #id > 40 then
          add(qp .. ".id", w, "The question's id may only hold letters, digits, - and _ (at most 40).")
        elseif ids[id] then
          add(qp .. ".id", w, "Another question has the same id “" .. id .. "”.")
        end
        if type(id) == "string" then ids[id] = true end
        if not allowed[x.type] then add(qp .. ".type", w, "Choose the kind of question: " .. profile.kinds .. ".") end
        local text = trim(x.text)
        if text == "" then add(qp .. ".text", w, "Write the question.")
        elseif not utf8.len(text) then add(qp .. ".text", w, "The question is not valid text.")
        elseif utf8.len(text) > 1000 then add(qp .. ".text", w, "Keep the question under 1,000 characters.") end
        local audience = profile.audiences and (x.audience or "both") or nil
        if profile.audiences and not M.AUDIENCES[audience] then
          add(qp .. ".audience", w, "Choose who answers the question.")
        elseif x.type == "graph" and audience ~= "self" and audience ~= "both" then
          add(qp .. ".audience", w, "A 2D graph is placed by the reviewee, or by both (each places a dot): choose "
            .. "“Reviewee only” or “Reviewee and manager” under Answered by.")
        end
        local qq = { id = id, type = x.type, text = text, audience = audience,
          required = profile.required and x.required == true or false }
        if x.type == "rating" then
          local scale = math.tointeger(tonumber(x.scale))
          if not scale or scale < 2 or scale > 10 then
            add(qp .. ".scale", w, "Choose a scale from 2 to 10 points.")
            scale = 0
          end
          qq.scale = scale
          qq.labels = {}
          if x.labels ~= nil and type(x.labels) ~= "table" then add(qp .. ".labels", w, "The labels must be a list of texts.") end
          for i = 1, scale do
            local l = type(x.labels) == "table" and x.labels[i]
            qq.labels[i] = (type(l) == "string" and l ~= "" and utf8.len(l)) and util.truncate(l, 80, "") or tostring(i)
          end
        elseif x.type == "choice" then
          qq.options = {}
          if type(x.options) ~= "table" then add(qp .. ".options", w, "The options must be a list of texts.") end
          for _, o in ipairs(type(x.options) == "table" and x.options or {}) do
            local l = trim(o)
            if l ~= "" and not utf8.len(l) then add(qp .. ".options", w, "An option is not valid text.")
            elseif l ~= "" then qq.options[#qq.options + 1] = util.truncate(l, 120, "") end
          end
          if #qq.options < 2 or #qq.options > 20 then add(qp .. ".options", w, "Give 2 to 20 options, one per line.") end
          qq.multiple = x.multiple == true
        elseif x.type == "graph" then
          for _, axis in ipairs({ "x_label", "y_label" }) do
            local l = trim(x[axis])
            if not utf8.len(l) then l = "" end
            if l == "" then
              add(qp .. "." .. axis, w, axis == "x_label" and "Name the horizontal axis (e.g. Skill)."
                or "Name the vertical axis (e.g. Motivation).")
            end
            qq[axis] = util.truncate(l, 60, "")
          end
        end
        sec.questions[#sec.questions + 1] = qq
      end
    end
    out.sections[#out.sections + 1] = sec
  end
  if #q.sections == 0 then add("sections", nil, "Add at least one section with a question.") end
  if #list > 0 then raise_problems(list) end
  return out
end

--- The questions of q, flat, with their section.
function M.questions(q)
  local out = {}
  for _, s in ipairs(q.sections) do
    for _, x in ipairs(s.questions) do
      x.section = s.title
      out[#out + 1] = x
    end
  end
  return out
end

--- Whether author ("self" | "manager") answers question x.
function M.answers(x, author)
  if author == "self" then return x.audience == "both" or x.audience == "self" end
  return x.audience == "both" or x.audience == "manager" or x.audience == "manager_private"
end

--- Checks one answer value for question x; returns the normalised value or nil, message.
function M.check_value(x, v)
  if v == nil or v == "" or v == json.null then return nil end
  if x.type == "text" then
    if type(v) ~= "string" then return nil, "must be text" end
    if not utf8.len(v) then return nil, "must be valid text" end
    if util.len(v) > 20000 then return nil, "is longer than 20,000 characters" end
    return v
  elseif x.type == "rating" then
    local n = math.tointeger(tonumber(v))
    if not n or n < 1 or n > x.scale then return nil, ("must be a rating from 1 to %d"):format(x.scale) end
    return n
  elseif x.type == "choice" then
    local list = type(v) == "table" and v or { v }
    local out, seen = {}, {}
    for _, c in ipairs(list) do
      local n = math.tointeger(tonumber(c))
      if not n or n < 1 or n > #x.options then return nil, ("must be options from 1 to %d"):format(#x.options) end
      if not seen[n] then seen[n] = true; out[#out + 1] = n end
    end
    if #out == 0 then return nil end
    if not x.multiple and #out > 1 then return nil, "takes one option" end
    table.sort(out)
    return x.multiple and out or out[1]
  elseif x.type == "graph" then
    if type(v) ~= "table" then return nil, "must be a point {x, y}" end
    local px, py = tonumber(v.x), tonumber(v.y)
    if not px or not py or px < 0 or px > 100 or py < 0 or py > 100 then return nil, "must be a point with x and y from 0 to 100" end
    return { x = math.floor(px + 0.5), y = math.floor(py + 0.5) }
  end
end

return M
