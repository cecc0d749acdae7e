-- Text people type comes back escaped on every page: script tags, an attribute break-out and a
-- javascript: link are stored in names, titles, praise, comments, 1:1 items, objectives, cycle
-- names and feedback requests, then every page the router lists (ids filled with the objects that
-- hold them) is read by the people who see them: none holds the payload as markup.
local t = require "testing"
local demo = require "demo"
local app = require "app"
local db = require "lib.db"

local P = t.demo()
local TAG = "<script>xss()</script>"
local ATTR = '"><img src=x onerror=xss()>'
local LINK = "[click](javascript:xss())"
local PAYLOAD = TAG .. ATTR .. " " .. LINK

-- What a page must never hold: the payload as markup (escaped text is fine).
local function unsafe(body)
  local lower = body:lower()
  return lower:find("<script>xss", 1, true) or lower:find("<img src=x onerror", 1, true)
    or lower:find("href=\"javascript:", 1, true) or lower:find("href='javascript:", 1, true)
    or lower:find("href=javascript:", 1, true)
end

local ids = {}

t.test("setup: the payload is stored in every kind of text people type", function()
  demo.sample_one_on_ones()
  demo.sample_objectives()
  local priya, marcus = t.login(demo.email("priya")), t.login(demo.email("marcus"))
  local lucas, ravi, mia = t.login(demo.email("lucas")), t.login(demo.email("ravi")), t.login(demo.email("mia"))
  local stored = 0
  local function try(res)
    if res.status < 300 then stored = stored + 1 end
    return res
  end
  try(priya:patch("/api/users/" .. P.mia.id, { job_title = PAYLOAD, department = TAG, location = ATTR }))
  try(priya:patch("/api/users/" .. P.zoe.id, { name = "Zoe " .. ATTR }))
  ids.praise = try(lucas:post("/api/messages", { kind = "praise", recipient_ids = { P.mia.id }, text = PAYLOAD })).json.id
  ids.note = try(lucas:post("/api/messages", { kind = "note", about_id = P.ethan.id, text = PAYLOAD })).json.id
  try(ravi:post("/api/messages/" .. ids.praise .. "/comments", { text = PAYLOAD }))
  ids.cycle = try(marcus:post("/api/cycles", { name = "Cycle " .. TAG, start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" })).json.id
  local ocycle = db.value("SELECT id FROM objective_cycles")
  ids.objective = try(mia:post("/api/objectives", { cycle_id = ocycle, title = "Goal " .. TAG,
    description = PAYLOAD })).json
  ids.objective = ids.objective and (ids.objective.id or (ids.objective.objectives or {})[1]
    and ids.objective.objectives[1].id)
  if ids.objective then try(ravi:post("/api/objectives/" .. ids.objective .. "/comments", { body = PAYLOAD })) end
  ids.meeting = db.value("SELECT min(id) FROM meetings")
  try(mia:post("/api/meetings/" .. ids.meeting .. "/items", { kind = "point", text = PAYLOAD }))
  ids.request = try(mia:post("/api/feedback-requests", { askee_ids = { P.ethan.id }, question = PAYLOAD,
    due_date = "2026-01-20" })).json.id
  t.ok(stored >= 10, "the payloads were stored (" .. stored .. ")")
end)

-- Every page (not /api) the router lists, its ids filled with the objects above.
local function pages()
  local out = {}
  for _, r in ipairs(app.router:routes()) do
    if r.method == "GET" and not r.api and not r.path:find("%.xlsx$") and not r.path:find("%.csv$") then
      local ok = true
      local path = r.path:gsub("{(%w+)[^}]*}", function(name)
        local before = r.path:match("^(.-){" .. name)
        if before:find("/people/") or before:find("/users/") then return tostring(P.mia.id) end
        if before:find("/messages/") then return tostring(ids.praise) end
        if before:find("/objectives/") then return tostring(ids.objective) end
        if before == "/cycles/" then return tostring(ids.cycle) end
        if before == "/meetings/" then return tostring(ids.meeting) end
        if before == "/requests/" then return tostring(ids.request) end
        ok = false
        return "1"
      end)
      if ok then out[#out + 1] = path end
    end
  end
  return out
end

local function sweep(key)
  local c = t.login(demo.email(key))
  local wrong, seen = {}, 0
  for _, path in ipairs(pages()) do
    local res = c:get(path)
    if res.status == 200 then seen = seen + 1 end
    if unsafe(res.body) then wrong[#wrong + 1] = path end
  end
  if #wrong > 0 then t.fail(key .. " is shown the payload as markup on:\n  " .. table.concat(wrong, "\n  ")) end
  return seen
end

t.test("the super user's pages show the payloads as text", function() t.ok(sweep("priya") > 40) end)
t.test("the HR Admin's pages show the payloads as text", function() t.ok(sweep("marcus") > 30) end)
t.test("Mia's pages show the payloads as text", function() t.ok(sweep("mia") > 20) end)
t.test("Ravi's pages show the payloads as text", function() t.ok(sweep("ravi") > 20) end)
t.test("Lucas's pages show the payloads as text", function() t.ok(sweep("lucas") > 20) end)

t.test("the sweep can fail: the payload is on the pages, escaped", function()
  local body = t.login(demo.email("mia")):get("/messages/" .. ids.praise).body
  t.contains(body, "&lt;script&gt;xss()&lt;/script&gt;")
  t.no(unsafe(body))
  t.ok(unsafe("<p>" .. TAG .. "</p>"))
end)
