-- Questionnaires of review cycles: sections of questions, each free text, a rating on a
-- labelled scale (1..N chosen per question) or the 2D self-assessment graph with two named
-- axes; required or optional; answered by the reviewee ("self"), the manager ("manager"), or
-- both ("both"); a manager question can be private to managers and HR.
local errors = require "lib.errors"
local json = require "lib.json"
local util = require "lib.util"

local M = {}

M.TYPES = { text = "Free text", rating = "Rating", graph = "2D graph" }
M.AUDIENCES = { both = "Reviewee and manager", self = "Reviewee only", manager = "Manager only",
  manager_private = "Manager only, hidden from the reviewee" }

--- The questionnaire a new cycle starts with.
function M.default()
  return {
    sections = {
      { id = "s1", title = "Looking back", questions = {
        { id = "q1", type = "text", text = "What went well in this period? What are you proud of?", audience = "both", required = true },
        { id = "q2", type = "text", text = "What was hard, and what would you do differently?", audience = "both", required = false },
      } },
      { id = "s2", title = "Where you stand", questions = {
        { id = "q3", type = "graph", text = "Place yourself on the graph.", audience = "self", required = false,
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

local function fail(path, msg) errors.invalid({ questionnaire = path .. ": " .. msg }, "The questionnaire " .. path .. " " .. msg) end

--- Checks and normalises a questionnaire (a table or JSON text). Returns the table.
function M.validate(q)
  if type(q) == "string" then
    local v = json.decode(q)
    if type(v) ~= "table" then fail("", "is not valid JSON") end
    q = v
  end
  if type(q) ~= "table" or type(q.sections) ~= "table" then fail("", "needs a list of sections") end
  local ids = {}
  local out = { sections = {} }
  for si, s in ipairs(q.sections) do
    local where = ("section %d"):format(si)
    if type(s) ~= "table" then fail(where, "is not an object") end
    local title = type(s.title) == "string" and s.title:gsub("^%s+", ""):gsub("%s+$", "") or ""
    if title == "" then fail(where, "needs a title") end
    if util.len(title) > 200 then fail(where, "has a title longer than 200 characters") end
    local sec = { id = type(s.id) == "string" and s.id or ("s" .. si), title = title, questions = {} }
    if type(s.questions) ~= "table" then fail(where, "needs a list of questions") end
    for qi, x in ipairs(s.questions) do
      local w = ("%s, question %d"):format(where, qi)
      if type(x) ~= "table" then fail(w, "is not an object") end
      local id = x.id
      if type(id) ~= "string" or not id:match("^[%w_%-]+$") or #id > 40 then fail(w, "needs an id of letters, digits, - or _") end
      if ids[id] then fail(w, "uses the id '" .. id .. "' twice") end
      ids[id] = true
      if not M.TYPES[x.type] then fail(w, "has an unknown type (text, rating or graph)") end
      local text = type(x.text) == "string" and x.text:gsub("^%s+", ""):gsub("%s+$", "") or ""
      if text == "" then fail(w, "needs its question text") end
      if util.len(text) > 1000 then fail(w, "is longer than 1000 characters") end
      local audience = x.audience or "both"
      if not M.AUDIENCES[audience] then fail(w, "has an unknown audience") end
      if x.type == "graph" and audience ~= "self" then fail(w, "is a 2D graph, which only the reviewee answers (audience self)") end
      local qq = { id = id, type = x.type, text = text, audience = audience, required = x.required == true }
      if x.type == "rating" then
        local scale = math.tointeger(tonumber(x.scale))
        if not scale or scale < 2 or scale > 10 then fail(w, "needs a scale from 2 to 10") end
        qq.scale = scale
        qq.labels = {}
        if x.labels ~= nil and type(x.labels) ~= "table" then fail(w, "has labels that are not a list") end
        for i = 1, scale do
          local l = x.labels and x.labels[i]
          qq.labels[i] = (type(l) == "string" and l ~= "") and util.truncate(l, 80, "") or tostring(i)
        end
      elseif x.type == "graph" then
        for _, axis in ipairs({ "x_label", "y_label" }) do
          local l = type(x[axis]) == "string" and x[axis]:gsub("^%s+", ""):gsub("%s+$", "") or ""
          if l == "" then fail(w, "needs names for both axes") end
          qq[axis] = util.truncate(l, 60, "")
        end
      end
      sec.questions[#sec.questions + 1] = qq
    end
    out.sections[#out.sections + 1] = sec
  end
  if #out.sections == 0 then fail("", "needs at least one section") end
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
  elseif x.type == "graph" then
    if type(v) ~= "table" then return nil, "must be a point {x, y}" end
    local px, py = tonumber(v.x), tonumber(v.y)
    if not px or not py or px < 0 or px > 100 or py < 0 or py > 100 then return nil, "must be a point with x and y from 0 to 100" end
    return { x = math.floor(px + 0.5), y = math.floor(py + 0.5) }
  end
end

return M
