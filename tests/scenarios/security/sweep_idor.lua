-- Every route with an id in its path, from the router's own list (a route added later is swept
-- too), called with every method by people with no business with the object it names: an employee
-- outside the line, a peer, the manager of other people, an HR Assistant (confidential text), a
-- guest and a signed-out browser. Each call is refused (401/403/404, or the sign-in page) and the
-- database is as it was. The calls the product does allow these people are listed with why.
local t = require "testing"
local demo = require "demo"
local app = require "app"
local db = require "lib.db"
local sessions = require "services.sessions"
local reviews = require "services.reviews"
local feedback = require "services.feedback"

local P = t.demo()
local GUEST = demo.GUESTS[1][1]
local EXPLORE = os.getenv("SWEEP_EXPLORE")
local sweep = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "sweep_lib.lua")

local state = sweep.state

local W = {} -- the world's ids

-- Confidential text none of the viewers below may read, written into the objects they are
-- refused: reviews in Ravi's line (both sides), Nina's 360 (a colleague's answer), the private 1:1 note,
-- the private note about Zoe, private feedback, the managers-only praise, private and protected
-- objectives.
local CANARIES = { "canary-self-answer", "canary-manager-answer", "canary-360-answer" }

t.test("setup: the demo company at work (reviews, 360, messages, 1:1s, surveys, objectives, automations)", function()
  demo.sample_cycle()
  demo.sample_360()
  demo.sample_messages()
  demo.sample_one_on_ones()
  demo.sample_surveys()
  demo.sample_objectives()
  demo.sample_automations()
  local one = function(sql, ...) return t.ok(db.value(sql, ...), sql) end
  W.cycle = one("SELECT id FROM cycles")
  -- reviews in Ravi's line with a side still a draft
  local line = "reviewee_id IN (" .. table.concat({ P.mia.id, P.lucas.id, P.ethan.id, P.zoe.id, P.omar.id }, ",") .. ")"
  W.review = one("SELECT id FROM reviews WHERE " .. line .. " AND self_status IN ('not_started', 'draft') ORDER BY id LIMIT 1")
  W.review2 = one("SELECT id FROM reviews WHERE " .. line .. " AND manager_status IN ('not_started', 'draft') AND reviewee_id <> ? ORDER BY id LIMIT 1",
    P.omar.id)
  W.fcycle = one("SELECT id FROM feedback_cycles")
  W.subject = one("SELECT id FROM feedback_subjects WHERE reviewee_id = ?", P.nina.id)
  W.nomination = one("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", W.subject, P.tyler.id)
  W.frequest = one("SELECT id FROM feedback_requests")
  W.note = one("SELECT id FROM messages WHERE kind = 'note'")
  W.private_feedback = one("SELECT id FROM messages WHERE kind = 'feedback'")
  W.managers_praise = one("SELECT id FROM messages WHERE audience = 'managers'")
  W.comment = one("SELECT id FROM message_comments")
  W.series = one("SELECT id FROM meeting_series WHERE organizer_id = ?", P.ravi.id)
  W.meeting = one("SELECT min(id) FROM meetings WHERE series_id = ?", W.series)
  W.private_item = one("SELECT id FROM meeting_items WHERE series_id = ? AND private = 1 AND author_id = ?",
    W.series, P.ravi.id)
  W.ocycle = one("SELECT id FROM objective_cycles")
  W.private_objective = one("SELECT id FROM objectives WHERE visibility = 'private'")
  W.protected_objective = one("SELECT id FROM objectives WHERE owner_id = ? AND visibility = 'protected'", P.ethan.id)
  W.survey = one("SELECT id FROM surveys")
  W.closed_round = one("SELECT id FROM survey_rounds WHERE status = 'closed' ORDER BY id LIMIT 1")
  W.automation = one("SELECT id FROM automations ORDER BY id LIMIT 1")
  W.badge = one("SELECT id FROM badges ORDER BY id LIMIT 1")
  W.outbox = one("SELECT id FROM outbox ORDER BY id LIMIT 1")
  db.transaction(function()
    local r = db.row("SELECT reviewee_id, manager_id FROM reviews WHERE id = ?", W.review)
    reviews.save_answers(sessions.load_user(r.reviewee_id), W.review, "self", { q1 = "canary-self-answer" })
    local r2 = db.row("SELECT reviewee_id, manager_id FROM reviews WHERE id = ?", W.review2)
    reviews.save_answers(sessions.load_user(r2.manager_id), W.review2, "manager", { q1 = "canary-manager-answer" })
    feedback.save(sessions.load_user(P.tyler.id), W.nomination, { q1 = "canary-360-answer" })
  end)
  for _, text in ipairs({ "bring up a tech-lead path", "Mia is ready for more scope", "Your pull requests are easy",
    "caught the data-loss bug", "Give a talk at a storage conference", "Learn Go well enough" }) do
    CANARIES[#CANARIES + 1] = text
  end
  local priya = t.login(demo.email("priya"))
  W.hook = t.status(priya:post("/api/hooks", { name = "Sweep hook", events = { "person.created" },
    source = "return function() end" }), 201).json.id
  W.webhook = t.status(priya:post("/api/webhooks", { name = "Sweep", url = "https://hooks.example/sweep",
    events = { "person.created" } }), 201).json.id
  W.token = t.status(priya:post("/api/tokens", { name = "Sweep" }), 201).json.id
end)

-- The ids a path's parameter stands for, by the words before it: the objects these viewers have
-- no business with (reviews in Ravi's line, Ravi and Mia's 1:1s, Nina's 360, private messages and objectives).
local function targets(path, name)
  local before = path:match("^(.-){" .. name)
  local function has(p) return before:find(p, 1, true) ~= nil end
  if name == "cid" then return { W.comment } end
  if name == "item" then return { W.private_item } end
  if name == "delivery" or name == "run" or name == "version" or has("/versions/") then return { 1 } end
  if name == "name" then
    if has("/secrets/") then return { "TOKEN" } end
    if has("workflows/") then return { "review" } end
    return { "invitation" }
  end
  if name == "token" then return { "not-a-screen" } end
  if has("/feedback/cycles/") then return { W.fcycle } end
  if has("/feedback/360/") then return { W.subject } end
  if has("/feedback/requests/") then return { W.nomination } end
  if has("/feedback-requests/") or before == "/requests/" then return { W.frequest } end
  if has("/objective-cycles/") then return { W.ocycle } end
  if has("/objectives/") then return { W.private_objective, W.protected_objective } end
  if has("/cycles/automations/") or has("/automations/") then return { W.automation } end
  if has("/cycles/") then return { W.cycle } end
  if has("/reviews/") then return { W.review, W.review2 } end
  if has("/messages/") then return { W.note, W.private_feedback, W.managers_praise } end
  if has("/meeting-series/") or has("/meetings/series/") then return { W.series } end
  if has("/meetings/") then return { W.meeting } end
  if has("/surveys/rounds/") then return { W.closed_round } end
  if has("/surveys/") then return { W.survey } end
  if has("/users/imports/") or has("/people/import/") then return { 1 } end
  if has("/users/") or has("/people/") then return { P.mia.id } end
  if has("/hooks/") then return { W.hook } end
  if has("/webhooks/") then return { W.webhook } end
  if has("/tokens/") or has("/api-tokens/") then return { W.token } end
  if has("/outbox/") then return { W.outbox } end
  if has("/badges/") then return { W.badge } end
  if has("/bounces/") or has("/wall-screens/") or has("/screens/") then return { 1 } end
  error("no target for " .. path)
end

-- Bodies that pass the checks of what was sent, for routes that look at the body before the
-- object (an empty body would be refused as bad input and prove nothing).
local BODIES = {
  ["PUT /api/users/{id:int}/roles"] = function() return { roles = { "hr_admin" } } end,
  ["POST /people/{id:int}/edit"] = function() return { name = "Taken Over", email = "taken@northwind.example",
    job_title = "Taken", manager_id = tostring(P.felix.id) } end,
  ["POST /people/{id:int}/roles"] = function() return { hr_admin = "1", tech_admin = "1" } end,
  ["POST /api/cycles/{id:int}/transitions"] = function() return { to = "closed" } end,
  ["POST /cycles/{id:int}/transition"] = function() return { to = "closed" } end,
  ["POST /api/cycles/{id:int}/reviewees"] = function() return { user_ids = { P.felix.id } } end,
  ["DELETE /api/cycles/{id:int}/reviewees"] = function() return { user_ids = { P.mia.id } } end,
  ["POST /api/cycles/{id:int}/reminders/preview"] = function() return { audience = "self_late" } end,
  ["POST /api/cycles/{id:int}/reminders"] = function() return { audience = "self_late" } end,
  ["POST /cycles/{id:int}/reminders"] = function() return { audience = "self_late", confirm = "1" } end,
  ["PATCH /api/reviews/{id:int}"] = function() return { manager_id = P.felix.id } end,
  ["POST /reviews/{id:int}/share"] = function() return { confirmed = "1" } end,
  ["POST /api/feedback/cycles/{id:int}/transitions"] = function() return { to = "closed" } end,
  ["POST /feedback/cycles/{id:int}/transition"] = function() return { to = "closed" } end,
  ["POST /api/feedback/cycles/{id:int}/reviewees"] = function() return { user_ids = { P.felix.id } } end,
  ["DELETE /api/feedback/cycles/{id:int}/reviewees"] = function() return { user_ids = { P.tyler.id } } end,
  ["POST /api/feedback/cycles/{id:int}/reminders/preview"] = function() return { audience = "not_written" } end,
  ["POST /api/feedback/cycles/{id:int}/reminders"] = function() return { audience = "not_written" } end,
  ["POST /feedback/cycles/{id:int}/reminders"] = function() return { audience = "not_written", confirm = "1" } end,
  ["POST /feedback/cycles/{id:int}/approvals"] = function() return { subject_ids = tostring(W.subject), approve = "1" } end,
  ["POST /objective-cycles/{id:int}/nudges"] = function() return { audience = "no_objectives", confirm = "1" } end,
  ["DELETE /api/objective-cycles/{id:int}/people"] = function() return { user_ids = { P.mia.id } } end,
  ["POST /api/objective-cycles/{id:int}/nudges/preview"] = function() return { audience = "no_objectives" } end,
  ["POST /api/objective-cycles/{id:int}/nudges"] = function() return { audience = "no_objectives" } end,
}

-- What the product lets these people do with these objects, and why (writes are not sent: their
-- own scenarios cover them; reads are made and must not show the confidential text).
local EMPLOYEE = {
  ["GET /api/users/{id:int}"] = "the directory: every employee sees a colleague's profile",
  ["GET /people/{id:int}"] = "the directory",
  ["GET /api/users/{id:int}/reports"] = "the directory",
  ["PATCH /api/users/{id:int}"] = "an empty change changes nothing (a real one is refused: tests/scenarios/people)",
  ["GET /api/objective-cycles/{id:int}"] = "an objective cycle of everyone is open to everyone",
  ["GET /api/objective-cycles/{id:int}/objectives"] = "the public objectives of the cycle",
  ["GET /api/objective-cycles/{id:int}/tree"] = "the public objectives of the cycle",
  ["GET /objective-cycles/{id:int}"] = "the public objectives of the cycle",
  ["GET /objective-cycles/{id:int}/tree"] = "the public objectives of the cycle",
  ["GET /api/people/{id:int}/objectives"] = "a colleague's public objectives",
  ["GET /api/surveys/rounds/{id:int}"] = "a company-wide survey: everyone is invited to its rounds",
  ["GET /surveys/rounds/{id:int}"] = "a company-wide survey",
  ["POST /api/surveys/rounds/{id:int}/answers"] = "a company-wide survey (the round is closed: 409)",
  ["POST /surveys/rounds/{id:int}"] = "a company-wide survey (the round is closed)",
}
local MANAGER = setmetatable({
  ["GET /api/surveys/{id:int}"] = "the survey's results are shared with managers",
  ["GET /api/surveys/{id:int}/results"] = "shared with managers",
  ["GET /surveys/{id:int}"] = "shared with managers (it shows the results)",
  ["GET /surveys/{id:int}/edit"] = "shared with managers (it shows the results)",
  ["GET /surveys/{id:int}/results"] = "shared with managers",
}, { __index = EMPLOYEE })
-- An HR Assistant runs review, 360 and objective cycles and the surveys she created, without
-- their confidential text.
local ASSISTANT = setmetatable({}, { __index = EMPLOYEE })
for _, prefix in ipairs({ "/api/cycles/{id:int}", "/cycles/{id:int}", "/api/feedback/cycles/{id:int}",
  "/feedback/cycles/{id:int}", "/api/objective-cycles/{id:int}", "/objective-cycles/{id:int}", "/api/surveys/{id:int}",
  "/surveys/{id:int}", "/api/automations/{id:int}", "/cycles/automations/{id:int}" }) do
  for _, r in ipairs(app.router:routes()) do
    if r.path:sub(1, #prefix) == prefix then
      ASSISTANT[r.method .. " " .. r.path] = "an HR Assistant manages cycles, automations and her own surveys"
    end
  end
end
ASSISTANT["GET /people/{id:int}/edit"] = "an HR Assistant edits profiles (not the manager, email or roles)"
-- choosing who writes a review gives the chooser nothing (policies/README.md)
ASSISTANT["PATCH /api/reviews/{id:int}"] = "an HR Assistant chooses a review's writer in her cycles"
for _, key in ipairs({ "GET /api/reviews/{id:int}", "GET /reviews/{id:int}", "POST /reviews/{id:int}/manager",
  "POST /api/feedback/360/{id:int}/nudge", "POST /feedback/360/{id:int}/nudge", "GET /api/feedback/360/{id:int}",
  "GET /feedback/360/{id:int}" }) do
  ASSISTANT[key] = "an HR Assistant follows the reviews and 360s of the cycles (without their text)"
end

-- Every concrete call: { method, path, route, key } for each route with a parameter.
local function calls()
  local out = {}
  for _, r in ipairs(app.router:routes()) do
    if r.path:find("{", 1, true) then
      local paths = { r.path }
      for name in r.path:gmatch("{([%w_]+)[^}]*}") do
        local next_paths = {}
        for _, p in ipairs(paths) do
          for _, id in ipairs(targets(r.path, name)) do
            next_paths[#next_paths + 1] = (p:gsub("{" .. name .. "[^}]*}", tostring(id)))
          end
        end
        paths = next_paths
      end
      for _, p in ipairs(paths) do
        out[#out + 1] = { method = r.method, path = p, route = r, key = r.method .. " " .. r.path }
      end
    end
  end
  return out
end

local function send(c, call)
  local body = BODIES[call.key] and BODIES[call.key]() or {}
  if call.method == "GET" then return c:get(call.path) end
  if call.route.api then return c:request(call.method, call.path, { body = body }) end
  return c:form(call.path, body)
end

local function refused(res, anonymous, call)
  if res.status == 401 or res.status == 403 or res.status == 404 then return true end
  -- a refused page form goes back to its page (what changed is checked on the whole database)
  if not anonymous and not call.route.api and call.method == "POST" and res.status == 303 then return true end
  if anonymous and res.status == 303 and (res.headers.location or ""):find("^/%?next=") then return true end
  return false
end

local function refused_all(who, c, allowed)
  allowed = allowed or {}
  local before = state()
  local wrong = {}
  for _, call in ipairs(calls()) do
    local why = allowed[call.key]
    if not why or call.method == "GET" then
      local s0 = EXPLORE and state()
      local res = send(c, call)
      if not why and not refused(res, who == "signed out", call) then
        wrong[#wrong + 1] = ("%s %s -> %d %s"):format(call.method, call.path, res.status, res.body:sub(1, 120):gsub("%s+", " "))
      end
      local shown = res.body
      if res.status == 303 and not call.route.api and who ~= "signed out" then
        shown = shown .. c:get((res.headers.location:gsub("#.*$", ""))).body
      end
      for _, canary in ipairs(CANARIES) do
        if shown:find(canary, 1, true) then wrong[#wrong + 1] = ("%s %s shows %q"):format(call.method, call.path, canary) end
      end
      if EXPLORE and state() ~= s0 then
        wrong[#wrong + 1] = "CHANGED: " .. call.method .. " " .. call.path .. " "
          .. table.concat(sweep.changed(s0, state()), ",") .. " @" .. tostring(res.headers.location)
      end
    end
  end
  if #wrong > 0 then t.fail(who .. " was not refused:\n  " .. table.concat(wrong, "\n  ")) end
  t.eq(state() == before, true, who .. ": refused calls left the database as it was")
end

t.test("an employee outside the line is refused every object route, and nothing changes", function()
  refused_all("felix", t.login(demo.email("felix")), EMPLOYEE)
end)
t.test("a peer is refused every object route, and nothing changes", function()
  refused_all("omar", t.login(demo.email("omar")), EMPLOYEE)
end)
t.test("the manager of other people is refused every object route, and nothing changes", function()
  refused_all("emma", t.login(demo.email("emma")), MANAGER)
end)
t.test("an HR Assistant reads no confidential text through any object route, and is refused the rest", function()
  refused_all("lena", t.login(demo.email("lena")), ASSISTANT)
end)
t.test("a guest is refused every object route, and nothing changes", function()
  refused_all("guest", t.login(GUEST))
end)
t.test("a signed-out browser is refused every object route, and nothing changes", function()
  refused_all("signed out", t.client())
end)

t.test("the sweep can fail: the people concerned read the text, and their writes show in the database", function()
  local r2 = db.row("SELECT manager_id FROM reviews WHERE id = ?", W.review2)
  local writer = t.login(db.value("SELECT email FROM users WHERE id = ?", r2.manager_id))
  t.contains(t.status(writer:get("/api/reviews/" .. W.review2), 200).body, "canary-manager-answer")
  local tyler = t.login(demo.email("tyler"))
  t.contains(t.status(tyler:get("/api/feedback/requests/" .. W.nomination), 200).body, "canary-360-answer")
  t.contains(t.status(t.login(demo.email("ravi")):get("/meetings/" .. W.meeting), 200).body, "Mia is ready for more scope")
  local before = state()
  t.status(tyler:put("/api/feedback/requests/" .. W.nomination .. "/answers", { q1 = "canary-360-answer, again" }), 200)
  t.neq(state(), before, "an allowed write changes the state")
end)

-- The lists and searches (routes without an id), with the filters a curious caller would try:
-- no viewer above finds the confidential text through them either.
local FILTERS = { "", "?q=canary", "?all=1", "?include_private=1", "?visibility=private", "?kind=note",
  "?kind=feedback", "?audience=managers", "?status=draft" }
for _, name in ipairs({ "user_id", "owner_id", "about_id", "person_id", "reviewee_id", "recipient_id",
  "author_id", "manager_id", "with_id" }) do
  FILTERS[#FILTERS + 1] = "?" .. name .. "=" .. P.mia.id
end
FILTERS[#FILTERS + 1] = "?about_id=" .. P.zoe.id
FILTERS[#FILTERS + 1] = "?owner_id=" .. P.ethan.id

local function lists_show_nothing(who, c)
  local wrong, read = {}, 0
  for _, r in ipairs(app.router:routes()) do
    if r.method == "GET" and not r.path:find("{", 1, true) and r.path ~= "/api/session/2fa/setup" then
      for _, filter in ipairs(FILTERS) do
        local res = c:get(r.path .. filter)
        if res.status == 200 then read = read + 1 end
        for _, canary in ipairs(CANARIES) do
          if res.body:find(canary, 1, true) then wrong[#wrong + 1] = ("%s%s shows %q"):format(r.path, filter, canary) end
        end
      end
    end
  end
  if #wrong > 0 then t.fail(who .. ":\n  " .. table.concat(wrong, "\n  ")) end
  return read
end

t.test("no list or search shows the confidential text to those refused it, whatever the filter", function()
  for _, key in ipairs({ "felix", "omar", "emma", "lena" }) do
    t.ok(lists_show_nothing(key, t.login(demo.email(key))) > 100, key .. " read pages")
  end
  lists_show_nothing("guest", t.login(GUEST))
  lists_show_nothing("signed out", t.client())
end)

t.test("the list sweep can fail: Lucas finds his own private note through a list", function()
  t.no(pcall(lists_show_nothing, "lucas", t.login(demo.email("lucas"))))
end)
