-- Every page and API answer a GET gives costs a constant number of SQL statements: a sweep of
-- every GET route of the router (none left out: a route this file has no path for fails it), each
-- asked by the viewers who may ask it (an HR Admin who is also Tech Admin, a manager, an employee,
-- a guest, nobody signed in), on the demo company and again after the data each route lists grew
-- through the services (thirty more of every kind: reports, reviews, 360 requests, objectives and
-- key results, 1:1s and their items, praise, notes, feedback requests, survey answers, cycles,
-- automations, tokens, sessions, badges, wall screens, webhook deliveries, hook runs, audit
-- entries and mails). A request is counted twice: first after every kept value was forgotten (a
-- write moves the memos' generations: lib/memo.lua), then again at once (what memos keep).
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local app = require "app"
local util = require "lib.util"
local clock = require "core.clock"
local core_db = require "core.db"
local log = require "core.log"
local settings = require "services.settings"
local sessions = require "services.sessions"
local one_on_ones = require "services.one_on_ones"
local objectives = require "services.objectives"
local messages = require "services.messages"
local feedback_requests = require "services.feedback_requests"
local surveys = require "services.surveys"

local P = t.demo()
local review_cycle = demo.sample_cycle()
local feedback_cycle, guest = demo.sample_360()
demo.sample_messages()
demo.sample_one_on_ones()
local objective_cycle = demo.sample_objectives()
demo.sample_surveys()
demo.sample_automations()
settings.set("integrations.allow_loopback", true)

local function user(key) return sessions.load_user(P[key].id) end
local function day(n) return util.format_date(clock.now() + n * 86400) end

local super = t.login(demo.email("priya")) -- HR Admin + Tech Admin
local viewers = {
  { name = "hr", client = super },
  { name = "manager", client = t.login(demo.email("ravi")) }, -- Lucas, Mia and Omar report to him
  { name = "director", client = t.login(demo.email("james")) }, -- approves Tyler's and Nina's 360 reviewers
  { name = "employee", client = t.login(demo.email("mia")) },
  { name = "guest", client = t.login(guest.email) },
  { name = "nobody", client = t.client() },
}

-- Runs fn without the warnings of the webhook's deliveries, which find nobody listening.
local function quietly(fn)
  log.set_level("error")
  local ok, err = pcall(fn)
  log.set_level("warn")
  if not ok then error(err, 0) end
end

-- Objects of each kind the routes show, made once the way an admin makes them.
local hook = t.status(super:post("/api/hooks", { name = "Sweep hook", events = { "person.*" },
  source = "return function(event) log('seen', event.name) end" }), 201).json
local webhook = t.status(super:post("/api/webhooks", { name = "Sweep webhook", url = "http://127.0.0.1:9/h",
  events = { "person.*" } }), 201).json
local screen = t.status(super:post("/api/wall-screens", { label = "Lobby" }), 201).json
local screen_token = screen.url:match("/praise/screen/([^/?#]+)")
t.status(super:request("PUT", "/api/badges/" .. db.value("SELECT id FROM badges ORDER BY id") .. "/image", {
  body = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>',
  headers = { ["content-type"] = "application/octet-stream" } }), 200)
-- an import (a person in Operations), which the hook and the webhook hear about
t.status(super:request("POST", "/api/users/import", { body = "email,name,manager_email\nseed@northwind.example,Seed Person,"
  .. demo.email("paul") .. "\n", headers = { ["content-type"] = "text/csv" } }), 202)

-- The ids the paths are made of (the demo's objects, looked up again after the data grew).
quietly(t.run_jobs)

local nominations = require "services.nominations"

-- Each of reviewees asks reviewers in 360 cycle cid; their manager approves one list in every.
local function nominate_all(cid, reviewees, reviewers, every)
  db.transaction(function()
    local approve = {}
    for i, id in ipairs(reviewees) do
      local me = sessions.load_user(id)
      local sid = assert(db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", cid, id))
      for _, r in ipairs(reviewers) do nominations.nominate(me, sid, { reviewer_id = r }) end
      nominations.submit(me, sid)
      if i % every == 1 or every == 1 then approve[#approve + 1] = sid end
    end
    nominations.approve(user("ravi"), approve)
  end)
end

-- A 360 cycle of Ravi's team running since today: Omar's reviewers approved, Lucas's waiting.
local team360 = t.status(super:post("/api/feedback/cycles/" .. feedback_cycle.id .. "/copy", {}), 201).json
t.status(super:post("/api/feedback/cycles/" .. team360.id .. "/reviewees", { user_ids = { P.omar.id, P.lucas.id } }), 200)
t.status(super:patch("/api/feedback/cycles/" .. team360.id, { name = "Platform 360", start_date = day(0),
  nominate_due = day(3), approve_due = day(5), write_due = day(10), release_date = day(20) }), 200)
t.status(super:post("/api/feedback/cycles/" .. team360.id .. "/start", {}), 200)
quietly(t.run_jobs)
nominate_all(team360.id, { P.omar.id, P.lucas.id }, { P.mia.id, guest.id, P.zoe.id }, 2)

local function ids()
  local V = {}
  V.cycle = review_cycle.id
  V.review = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", review_cycle.id, P.mia.id)
  V.feedback_cycle = team360.id
  V.subject = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", team360.id, P.omar.id)
  V.released = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", feedback_cycle.id,
    P.tyler.id) -- (the demo's, released: its PDF)
  V.nomination = db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", V.subject,
    guest.id)
  V.message = db.value("SELECT id FROM messages WHERE kind = 'praise' ORDER BY id")
  V.request = db.value("SELECT id FROM feedback_requests ORDER BY id")
  V.badge = db.value("SELECT id FROM badges ORDER BY id")
  V.series = db.value("SELECT id FROM meeting_series WHERE attendee_id = ?", P.mia.id)
  V.meeting = db.value("SELECT id FROM meetings WHERE series_id = ? AND status = 'upcoming'", V.series)
  V.objective_cycle = objective_cycle.id
  V.objective = db.value("SELECT id FROM objectives WHERE owner_id = ? AND level = 'team'", P.ravi.id)
  V.survey = db.value("SELECT id FROM surveys ORDER BY id")
  V.round = db.value("SELECT id FROM survey_rounds WHERE survey_id = ? AND status = 'open'", V.survey)
  V.automation = db.value("SELECT id FROM automations ORDER BY id")
  V.outbox = db.value("SELECT id FROM outbox ORDER BY id")
  V.import = db.value("SELECT id FROM imports ORDER BY id")
  V.hook, V.webhook = hook.id, webhook.id
  V.hook_version = db.value("SELECT id FROM hook_versions WHERE hook_id = ? ORDER BY id", hook.id)
  V.hook_run = db.value("SELECT id FROM hook_runs WHERE hook_id = ? ORDER BY id", hook.id)
  V.delivery = db.value("SELECT id FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id", webhook.id)
  V.workflow_version = db.value("SELECT id FROM workflow_versions ORDER BY id")
  V.person = P.ravi.id
  V.workflow = db.value("SELECT name FROM workflow_versions ORDER BY id")
  V.template = t.status(super:get("/api/email-templates"), 200).json.templates[1].name
  return V
end

-- The path asked for each route with parameters (V: the ids above).
local PATHS = {
  ["/people/{id:int}/password"] = "/people/%{person}/password",
  ["/api/users/{id:int}"] = "/api/users/%{person}",
  ["/api/users/{id:int}/reports"] = "/api/users/%{person}/reports",
  ["/people/{id:int}"] = "/people/%{person}",
  ["/people/{id:int}/edit"] = "/people/%{person}/edit",
  ["/people/{id:int}/roles"] = "/people/%{person}/roles",
  ["/admin/email-templates/{name}"] = "/admin/email-templates/%{template}",
  ["/api/email-templates/{name}"] = "/api/email-templates/%{template}",
  ["/admin/outbox/{id:int}"] = "/admin/outbox/%{outbox}",
  ["/api/outbox/{id:int}"] = "/api/outbox/%{outbox}",
  ["/api/webhooks/{id:int}"] = "/api/webhooks/%{webhook}",
  ["/api/webhooks/{id:int}/deliveries"] = "/api/webhooks/%{webhook}/deliveries",
  ["/api/webhooks/{id:int}/deliveries/{delivery:int}"] = "/api/webhooks/%{webhook}/deliveries/%{delivery}",
  ["/admin/webhooks/{id:int}"] = "/admin/webhooks/%{webhook}",
  ["/admin/webhooks/{id:int}/edit"] = "/admin/webhooks/%{webhook}/edit",
  ["/admin/webhooks/{id:int}/deliveries/{delivery:int}"] = "/admin/webhooks/%{webhook}/deliveries/%{delivery}",
  ["/api/hooks/{id:int}"] = "/api/hooks/%{hook}",
  ["/api/hooks/{id:int}/versions"] = "/api/hooks/%{hook}/versions",
  ["/api/hooks/{id:int}/versions/{version:int}"] = "/api/hooks/%{hook}/versions/%{hook_version}",
  ["/api/hooks/{id:int}/secrets"] = "/api/hooks/%{hook}/secrets",
  ["/api/hooks/{id:int}/runs"] = "/api/hooks/%{hook}/runs",
  ["/api/hooks/{id:int}/runs/{run:int}"] = "/api/hooks/%{hook}/runs/%{hook_run}",
  ["/admin/hooks/{id:int}"] = "/admin/hooks/%{hook}",
  ["/admin/hooks/{id:int}/edit"] = "/admin/hooks/%{hook}/edit",
  ["/admin/hooks/{id:int}/runs/{run:int}"] = "/admin/hooks/%{hook}/runs/%{hook_run}",
  ["/admin/hooks/{id:int}/versions/{version:int}"] = "/admin/hooks/%{hook}/versions/%{hook_version}",
  ["/api/cycles/{id:int}"] = "/api/cycles/%{cycle}",
  ["/api/cycles/{id:int}/reviewees"] = "/api/cycles/%{cycle}/reviewees",
  ["/api/cycles/{id:int}/export.xlsx"] = "/api/cycles/%{cycle}/export.xlsx",
  ["/cycles/{id:int}"] = "/cycles/%{cycle}",
  ["/cycles/{id:int}/edit"] = "/cycles/%{cycle}/edit",
  ["/cycles/{id:int}/questions"] = "/cycles/%{cycle}/questions",
  ["/cycles/{id:int}/reviewees"] = "/cycles/%{cycle}/reviewees",
  ["/cycles/{id:int}/admins"] = "/cycles/%{cycle}/admins",
  ["/cycles/{id:int}/reminders"] = "/cycles/%{cycle}/reminders",
  ["/cycles/{id:int}/export.xlsx"] = "/cycles/%{cycle}/export.xlsx",
  ["/api/cycles/{id:int}/ratings"] = "/api/cycles/%{cycle}/ratings",
  ["/api/automations/{id:int}"] = "/api/automations/%{automation}",
  ["/cycles/automations/{id:int}"] = "/cycles/automations/%{automation}",
  ["/cycles/automations/{id:int}/edit"] = "/cycles/automations/%{automation}/edit",
  ["/cycles/automations/{id:int}/delete"] = "/cycles/automations/%{automation}/delete",
  ["/api/reviews/{id:int}"] = "/api/reviews/%{review}",
  ["/api/reviews/{id:int}/pdf"] = "/api/reviews/%{review}/pdf",
  ["/reviews/{id:int}"] = "/reviews/%{review}",
  ["/reviews/{id:int}/share"] = "/reviews/%{review}/share",
  ["/reviews/{id:int}/pdf"] = "/reviews/%{review}/pdf",
  ["/api/feedback/cycles/{id:int}"] = "/api/feedback/cycles/%{feedback_cycle}",
  ["/api/feedback/cycles/{id:int}/reviewees"] = "/api/feedback/cycles/%{feedback_cycle}/reviewees",
  ["/api/feedback/cycles/{id:int}/export.xlsx"] = "/api/feedback/cycles/%{feedback_cycle}/export.xlsx",
  ["/feedback/cycles/{id:int}"] = "/feedback/cycles/%{feedback_cycle}",
  ["/feedback/cycles/{id:int}/edit"] = "/feedback/cycles/%{feedback_cycle}/edit",
  ["/feedback/cycles/{id:int}/questions"] = "/feedback/cycles/%{feedback_cycle}/questions",
  ["/feedback/cycles/{id:int}/reviewees"] = "/feedback/cycles/%{feedback_cycle}/reviewees",
  ["/feedback/cycles/{id:int}/admins"] = "/feedback/cycles/%{feedback_cycle}/admins",
  ["/feedback/cycles/{id:int}/reminders"] = "/feedback/cycles/%{feedback_cycle}/reminders",
  ["/feedback/cycles/{id:int}/export.xlsx"] = "/feedback/cycles/%{feedback_cycle}/export.xlsx",
  ["/api/feedback/360/{id:int}"] = "/api/feedback/360/%{subject}",
  ["/api/feedback/360/{id:int}/candidates"] = "/api/feedback/360/%{subject}/candidates",
  ["/api/feedback/360/{id:int}/pdf"] = "/api/feedback/360/%{released}/pdf",
  ["/api/feedback/requests/{id:int}"] = "/api/feedback/requests/%{nomination}",
  ["/api/feedback/cycles/{id:int}/team"] = "/api/feedback/cycles/%{feedback_cycle}/team",
  ["/feedback/360/{id:int}"] = "/feedback/360/%{subject}",
  ["/feedback/360/{id:int}/pdf"] = "/feedback/360/%{released}/pdf",
  ["/feedback/requests/{id:int}"] = "/feedback/requests/%{nomination}",
  ["/feedback/cycles/{id:int}/approvals"] = "/feedback/cycles/%{feedback_cycle}/approvals",
  ["/feedback/cycles/{id:int}/team"] = "/feedback/cycles/%{feedback_cycle}/team",
  ["/api/users/imports/{id:int}"] = "/api/users/imports/%{import}",
  ["/people/import/{id:int}"] = "/people/import/%{import}",
  ["/admin/workflows/{name}"] = "/admin/workflows/%{workflow}",
  ["/admin/workflows/{name}/versions/{id:int}"] = "/admin/workflows/%{workflow}/versions/%{workflow_version}",
  ["/api/workflows/{name}"] = "/api/workflows/%{workflow}",
  ["/praise/screen/{token}"] = "/praise/screen/%{screen}",
  ["/messages/{id:int}"] = "/messages/%{message}",
  ["/messages/{id:int}/edit"] = "/messages/%{message}/edit",
  ["/requests/{id:int}"] = "/requests/%{request}",
  ["/badges/{id:int}/image"] = "/badges/%{badge}/image",
  ["/praise/screen/{token}/badges/{id:int}"] = "/praise/screen/%{screen}/badges/%{badge}",
  ["/api/messages/{id:int}"] = "/api/messages/%{message}",
  ["/api/feedback-requests/{id:int}"] = "/api/feedback-requests/%{request}",
  ["/api/meeting-series/{id:int}"] = "/api/meeting-series/%{series}",
  ["/api/meetings/{id:int}"] = "/api/meetings/%{meeting}",
  ["/meetings/{id:int}"] = "/meetings/%{meeting}",
  ["/meetings/series/{id:int}"] = "/meetings/series/%{series}",
  ["/api/objective-cycles/{id:int}"] = "/api/objective-cycles/%{objective_cycle}",
  ["/api/objective-cycles/{id:int}/objectives"] = "/api/objective-cycles/%{objective_cycle}/objectives",
  ["/api/objective-cycles/{id:int}/tree"] = "/api/objective-cycles/%{objective_cycle}/tree?focus=%{objective}",
  ["/api/objective-cycles/{id:int}/overview"] = "/api/objective-cycles/%{objective_cycle}/overview",
  ["/api/objective-cycles/{id:int}/export.xlsx"] = "/api/objective-cycles/%{objective_cycle}/export.xlsx",
  ["/api/objectives/{id:int}"] = "/api/objectives/%{objective}",
  ["/api/people/{id:int}/objectives"] = "/api/people/%{person}/objectives",
  ["/objectives/{id:int}"] = "/objectives/%{objective}",
  ["/objectives/{id:int}/edit"] = "/objectives/%{objective}/edit",
  ["/objective-cycles/{id:int}/edit"] = "/objective-cycles/%{objective_cycle}/edit",
  ["/objective-cycles/{id:int}"] = "/objective-cycles/%{objective_cycle}",
  ["/objective-cycles/{id:int}/tree"] = "/objective-cycles/%{objective_cycle}/tree?focus=%{objective}",
  ["/objective-cycles/{id:int}/overview"] = "/objective-cycles/%{objective_cycle}/overview",
  ["/objective-cycles/{id:int}/nudges"] = "/objective-cycles/%{objective_cycle}/nudges?audience=without",
  ["/objective-cycles/{id:int}/people"] = "/objective-cycles/%{objective_cycle}/people",
  ["/objective-cycles/{id:int}/export.xlsx"] = "/objective-cycles/%{objective_cycle}/export.xlsx",
  ["/api/surveys/{id:int}"] = "/api/surveys/%{survey}",
  ["/api/surveys/{id:int}/results"] = "/api/surveys/%{survey}/results",
  ["/api/surveys/{id:int}/participation"] = "/api/surveys/%{survey}/participation",
  ["/api/surveys/{id:int}/export.csv"] = "/api/surveys/%{survey}/export.csv",
  ["/api/surveys/rounds/{id:int}"] = "/api/surveys/rounds/%{round}",
  ["/surveys/{id:int}"] = "/surveys/%{survey}",
  ["/surveys/{id:int}/edit"] = "/surveys/%{survey}/edit",
  ["/surveys/{id:int}/results"] = "/surveys/%{survey}/results",
  ["/surveys/{id:int}/participation"] = "/surveys/%{survey}/participation",
  ["/surveys/rounds/{id:int}"] = "/surveys/rounds/%{round}",
}

-- Routes whose cost may grow with what they show, each with its reason (none so far).
local BOUNDED = {}

-- Routes no viewer here gets a 2xx from, each with its reason (every other route must answer
-- one of them: a path that only finds a 404 proves nothing).
local NO_2XX = {
  ["/setup"] = "the first-run page: redirects once the company exists",
  ["/signin/code"] = "the second step of a sign-in in progress",
  ["/signin/setup"] = "the second step of a sign-in in progress",
  ["/api/session/2fa/setup"] = "the second step of a sign-in in progress",
  ["/account/security/setup"] = "redirects without a two-step setup in progress",
  ["/password/set"] = "needs the link of a password mail",
  ["/admin/praise"] = "redirects to the first praise settings page",
  ["/meetings/series/{id:int}"] = "redirects to the series' current meeting",
  ["/reviews/{id:int}/share"] = "only for a review the manager finished and has not shared",
  ["/design/logo"] = "the demo company has no logo of its own (404)",
  ["/admin/xml-export/download"] = "no XML export is ready in the sweep (404); people/xml_export.lua downloads one",
  ["/api/exports/xml/download"] = "no XML export is ready in the sweep (404); people/xml_export.lua downloads one",
}

local function path_of(route, V)
  if not route.path:find("{", 1, true) then return route.path end
  local p = PATHS[route.path]
  if not p then return nil end
  return (p:gsub("%%{([%w_]+)}", function(k)
    local v = k == "screen" and screen_token or V[k]
    assert(v ~= nil, route.path .. ": the demo has no " .. k)
    return tostring(v)
  end))
end

-- Which viewers ask a route: everyone signed in who may (a guest only where guests are let in).
local function asks(route, viewer)
  if viewer.name == "nobody" then return route.auth == "public" end
  if viewer.name == "guest" then return route.auth == "any_user" or route.auth == "guest" or route.auth == "public" end
  return route.auth ~= "guest"
end

-- Forgets every kept value (a rollback moves every memo's generation).
local function forget_kept()
  core_db.begin()
  core_db.rollback()
end

-- { [route path .. " as " .. viewer] = { path, status, cold, warm } }
local function measure()
  local V = ids()
  local out = {}
  for _, route in ipairs(app.router.list) do
    if route.method == "GET" then
      local path = path_of(route, V)
      if not path then t.fail(route.path .. ": no path for it in this sweep (add it to PATHS)") end
      for _, viewer in ipairs(viewers) do
        if asks(route, viewer) then
          local res
          forget_kept()
          local cold = t.count_queries(function() res = viewer.client:get(path) end)
          local status = res.status
          local warm = t.count_queries(function() res = viewer.client:get(path) end)
          if os.getenv("SWEEP_SQL") == route.path .. " as " .. viewer.name then
            print("---- " .. path)
            for _, q in ipairs(t.statements(function() viewer.client:get(path) end)) do print((q:gsub("%s+", " "))) end
          end
          if status >= 500 or res.status >= 500 then t.fail(path .. " as " .. viewer.name .. ": " .. res.body) end
          out[#out + 1] = { key = route.path .. " as " .. viewer.name, route = route.path, viewer = viewer.name,
            path = path, status = status, cold = cold, warm = warm, bytes = #res.body }
        end
      end
    end
  end
  return out
end

local small

t.test("every GET route has a path in this sweep and answers every viewer without a server error", function()
  small = measure()
  t.ok(#small > 300, "many route × viewer pairs")
  local answered, routes = {}, {}
  for _, r in ipairs(small) do
    if not routes[r.route] then routes[#routes + 1] = r.route; routes[r.route] = true end
    if r.status >= 200 and r.status < 300 then answered[r.route] = true end
  end
  local none = {}
  for _, route in ipairs(routes) do
    if not answered[route] and not NO_2XX[route] then none[#none + 1] = route end
    if answered[route] and NO_2XX[route] then t.fail(route .. " answers a 2xx now: take it out of NO_2XX") end
  end
  t.eq(table.concat(none, ", "), "", "routes no viewer got a 2xx from")
end)

-- ------------------------------------------------------------------ thirty more of everything
local N = 30


local function grow(round)
  local ravi, mia = user("ravi"), user("mia")
  -- thirty new reports of Ravi (an import through the API: people, manager, an import record)
  local csv = { "email,name,job_title,department,location,manager_email" }
  for i = 1, N do
    csv[#csv + 1] = ("new%d.%02d@northwind.example,Ñew Pérson %d.%02d,Engineer,Engineering,Berlin,%s"):format(round, i,
      round, i, demo.email("ravi"))
  end
  t.status(super:request("POST", "/api/users/import", { body = table.concat(csv, "\n") .. "\n",
    headers = { ["content-type"] = "text/csv" } }), 202)
  quietly(t.run_jobs)
  local newcomers = db.column("SELECT id FROM users WHERE email LIKE ? ORDER BY id", "new" .. round .. ".__@northwind.example")
  t.eq(#newcomers, N, "the import made them")
  -- (they took their invitations)
  db.exec("UPDATE users SET status = 'active' WHERE id IN (SELECT value FROM json_each(?))", require("lib.json").encode(newcomers))
  require("services.access").reload()
  -- reviews: they join the running review cycle and write their self-assessment; Ravi rates each
  -- and shares every other one, and writes Mia's again and again; they become the cycle's assistants
  t.status(super:post("/api/cycles/" .. review_cycle.id .. "/reviewees", { user_ids = newcomers }), 200)
  local reviews = require "services.reviews"
  db.transaction(function()
    for i, id in ipairs(newcomers) do
      local r = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", review_cycle.id, id)
      reviews.save_answers(sessions.load_user(id), r, "self", { q1 = "My first weeks." })
      reviews.save_answers(ravi, r, "manager", { q1 = "A good start.", q4 = 1 + i % 5, q6 = "Keep going." })
      if i % 2 == 0 then reviews.share(ravi, r) end
    end
    local mine = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", review_cycle.id, P.mia.id)
    local shared = db.value("SELECT manager_status FROM reviews WHERE id = ?", mine) == "shared"
    if shared then reviews.unshare(ravi, mine) end
    for i = 1, N do reviews.save_answers(ravi, mine, "manager", { q1 = "Draft " .. round .. "." .. i, q4 = 1 + i % 5 }) end
    if shared then reviews.share(ravi, mine) end
  end)
  local admins = {}
  for _, id in ipairs(db.column("SELECT user_id FROM cycle_admins WHERE cycle_id = ?", review_cycle.id)) do
    admins[#admins + 1] = { user_id = id, role = "assistant" }
  end
  for _, id in ipairs(newcomers) do admins[#admins + 1] = { user_id = id, role = "assistant" } end
  t.status(super:put("/api/cycles/" .. review_cycle.id .. "/admins", { admins = admins }), 200)
  -- 360: they join the team's 360 cycle; each asks Mia, the guest and Lucas; Ravi approves half
  t.status(super:post("/api/feedback/cycles/" .. team360.id .. "/reviewees", { user_ids = newcomers }), 200)
  quietly(t.run_jobs)
  nominate_all(team360.id, newcomers, { P.mia.id, guest.id, P.lucas.id }, 2)
  -- Mia and the guest write for those approved, and share it
  local feedback = require "services.feedback"
  local written = 0
  db.transaction(function()
    for _, n in ipairs(db.query([[SELECT n.id, n.reviewer_id FROM feedback_nominations n
        JOIN feedback_subjects s ON s.id = n.subject_id
        WHERE s.cycle_id = ? AND s.approved_at IS NOT NULL AND n.reviewer_id IN (?, ?) AND n.status = 'approved'
          AND s.reviewee_id IN (SELECT value FROM json_each(?))]], team360.id, P.mia.id, guest.id,
        require("lib.json").encode(newcomers))) do
      local me = sessions.load_user(n.reviewer_id)
      feedback.save(me, n.id, { q1 = "Settling in well.", q2 = 4, q3 = "Ask more questions.", q4 = { 1 } })
      feedback.share(me, n.id)
      written = written + 1
    end
  end)
  t.eq(written, N, "Mia and the guest wrote for the fifteen approved")
  -- objectives: one each, aligned to Ravi's, with two key results; Mia's own get thirty comments
  local deploys = db.value("SELECT id FROM objectives WHERE owner_id = ? AND level = 'team'", P.ravi.id)
  db.transaction(function()
    for i, id in ipairs(newcomers) do
      objectives.create(sessions.load_user(id), { cycle_id = objective_cycle.id, parent_id = deploys,
        title = "Objective of newcomer " .. i, key_results = { { kind = "number", title = "Done", start = 0, target = 10 },
          { kind = "check", title = "Shipped" } } })
      objectives.create(mia, { cycle_id = objective_cycle.id, title = "Mia's objective " .. i,
        key_results = { { kind = "check", title = "Step " .. i } }, visibility = i % 3 == 0 and "protected" or nil,
        named_ids = i % 3 == 0 and { newcomers[i], P.ravi.id } or nil })
      objectives.comment(ravi, deploys, "Comment " .. i)
    end
  end)
  -- 1:1s: Ravi and Mia meet thirty more times; Ravi meets each newcomer; Ravi and Mia's next
  -- meeting gets thirty items
  local function next_meeting()
    return db.value([[SELECT m.id FROM meetings m JOIN meeting_series s ON s.id = m.series_id
      WHERE s.attendee_id = ? AND m.status = 'upcoming']], P.mia.id)
  end
  db.transaction(function()
    for i = 1, N do
      local m = next_meeting()
      one_on_ones.add_item(mia, m, { kind = "point", text = "Topic " .. round .. "." .. i })
      one_on_ones.close(ravi, m, i % 4 == 0 and "skipped" or "done")
    end
  end)
  local meeting = next_meeting()
  db.transaction(function()
    for i, id in ipairs(newcomers) do
      local s = one_on_ones.create(ravi, { with_id = id, cadence = "weekly", date = day(0) })
      one_on_ones.add_item(ravi, s.meeting_id, { kind = "point", text = "Welcome " .. i })
      one_on_ones.close(ravi, s.meeting_id, "done") -- (a past meeting, and the next one)
      one_on_ones.add_item(i % 2 == 0 and ravi or mia, meeting, { kind = i % 3 == 0 and "action" or "point",
        text = "Item " .. i, private = i % 5 == 0 })
    end
  end)
  -- praise, notes, feedback and feedback requests around Mia
  local badge = db.value("SELECT id FROM badges ORDER BY id")
  local first = db.value("SELECT id FROM messages WHERE kind = 'praise' ORDER BY id")
  db.transaction(function()
    for i, id in ipairs(newcomers) do
      local me = sessions.load_user(id)
      local m = messages.create(me, { kind = "praise", recipient_ids = { P.mia.id, P.ravi.id }, badge_id = badge,
        text = "Thanks for the welcome " .. i })
      messages.like(mia, m)
      messages.like(me, first)
      messages.comment(me, first, { text = "Agreed " .. i })
      messages.create(ravi, { kind = "note", about_id = P.mia.id, text = "Note " .. i })
      messages.share(me, m, { P.lucas.id, P.omar.id, newcomers[(i % N) + 1] })
      messages.create(me, { kind = "feedback", recipient_ids = { P.mia.id }, text = "Feedback " .. i })
      feedback_requests.create(me, { askee_ids = { P.mia.id, P.ravi.id }, question = "How am I doing? " .. i })
    end
  end)
  -- the pulse survey: thirty more closed rounds (as the demo makes its past ones), answered by the
  -- demo's people; then the newcomers are invited to the open one and answer
  local survey = db.value("SELECT id FROM surveys ORDER BY id")
  local people = db.column("SELECT id FROM users WHERE kind = 'employee' AND email LIKE '%.%@northwind.example' "
    .. "AND email NOT LIKE 'new%' ORDER BY id LIMIT 8")
  db.transaction(function()
    local seq = db.value("SELECT max(seq) FROM survey_rounds WHERE survey_id = ?", survey)
    local open = db.value("SELECT id FROM survey_rounds WHERE survey_id = ? AND status = 'open'", survey)
    db.exec("UPDATE survey_rounds SET status = 'closed' WHERE id = ?", open) -- (one open round at a time)
    for i = 1, N do
      local rid = db.insert("INSERT INTO survey_rounds(survey_id, seq, opens_on, closes_on, status) VALUES(?,?,?,?, 'open')",
        survey, seq + i, day(-400 + 12 * i + round), day(-394 + 12 * i + round))
      db.exec("INSERT INTO survey_invitations(round_id, user_id) SELECT ?, value FROM json_each(?)", rid,
        require("lib.json").encode(people))
      for j, uid in ipairs(people) do surveys.record(rid, uid, { 1 + (i + j) % 5, 1 + j % 5, 1 + (i * j) % 10 }) end
      db.exec("UPDATE survey_rounds SET status = 'closed' WHERE id = ?", rid)
    end
    db.exec("UPDATE survey_rounds SET status = 'open' WHERE id = ?", open)
  end)
  local open_round = db.value("SELECT id FROM survey_rounds WHERE status = 'open' ORDER BY id")
  db.transaction(function()
    for i, id in ipairs(newcomers) do
      db.exec("INSERT INTO survey_invitations(round_id, user_id) VALUES(?, ?)", open_round, id)
      surveys.record(open_round, id, { 1 + i % 5, 1 + (i * 3) % 5, 1 + i % 10 }, "Comment " .. i)
    end
  end)
  -- the survey's results are shared with the newcomers
  local shares = db.column("SELECT user_id FROM survey_shares WHERE survey_id = ?", survey)
  for _, id in ipairs(newcomers) do shares[#shares + 1] = id end
  surveys.share(user("lena"), survey, { user_ids = shares, managers = true })
  -- guests invited to the company
  for i = 1, N do
    t.status(super:post("/api/users", { name = ("Gäst %d.%02d"):format(round, i), kind = "guest",
      email = ("guest%d.%02d@partner.example"):format(round, i) }), 201)
  end
  -- mail that bounced (as services/delivery.lua records an SMTP server's 550)
  db.transaction(function()
    for i, m in ipairs(db.query("SELECT id, to_email FROM outbox ORDER BY id DESC LIMIT ?", N)) do
      db.exec("INSERT INTO mail_bounces(email, outbox_id, at, smtp_code, message) VALUES(lower(?),?,?,?,?)",
        m.to_email, m.id, clock.now() + i, 550, "No such mailbox")
    end
  end)
  -- thirty more of each thing an admin lists
  for i = 1, N do
    t.status(super:post("/api/cycles/" .. review_cycle.id .. "/copy", {}), 201)
    t.status(super:post("/api/feedback/cycles/" .. feedback_cycle.id .. "/copy", {}), 201)
    t.status(super:post("/api/objective-cycles", { name = "More objectives " .. i, starts_on = day(0),
      ends_on = day(90), edit_until = day(30), update_until = day(100) }), 201)
    t.status(super:post("/api/surveys", { title = "More pulse " .. i, starts_on = day(30), frequency = "once",
      questions = { { text = "How are things?", scale = 5 } } }), 201)
    t.status(super:post("/api/automations", { name = "More automation " .. i, kind = "after_hire_date",
      template_cycle_id = review_cycle.id, audience = { everyone = true }, offset_amount = i, offset_unit = "days" }), 201)
    t.status(super:post("/api/tokens", { name = ("Token %d.%d"):format(round, i) }), 201)
    t.status(super:post("/api/badges", { title = ("Badge %d.%d"):format(round, i), symbol = "★" }), 201)
    t.status(super:post("/api/wall-screens", { label = ("Screen %d.%d"):format(round, i) }), 201)
    t.status(super:patch("/api/hooks/" .. hook.id, { source = "return function() end -- " .. i }), 200)
    if i <= 10 then t.status(super:put("/api/hooks/" .. hook.id .. "/secrets/s" .. round .. "_" .. i, { value = "v" }), 204) end
    t.login(demo.email("mia")) -- a session more
  end
  quietly(t.run_jobs) -- hooks and webhooks for the people made, mails
end

local function show_table(rows, medium, large)
  local lines = { ("%-52s %-9s %-11s %-17s %-17s %s"):format("route", "viewer", "status", "cold", "warm", "bytes") }
  for _, r in ipairs(rows) do
    local m, l = medium[r.key], large[r.key]
    lines[#lines + 1] = ("%-52s %-9s %-11s %4d %4d → %-4d  %4d %4d → %-4d  %d/%d/%d"):format(r.route, r.viewer,
      r.status .. "/" .. m.status .. "/" .. l.status, r.cold, m.cold, l.cold, r.warm, m.warm, l.warm,
      r.bytes, m.bytes, l.bytes)
  end
  return table.concat(lines, "\n")
end

local function by_key(rows)
  local by = {}
  for _, r in ipairs(rows) do by[r.key] = r end
  return by
end

t.test("no GET route costs more statements with thirty more of everything it lists, and thirty more again", function()
  grow(1)
  local medium = by_key(measure())
  grow(2)
  local large = by_key(measure())
  local grew = {}
  for _, r in ipairs(small) do
    local m, l = medium[r.key], large[r.key]
    if (l.cold > m.cold or l.warm > m.warm) and not BOUNDED[r.route] then grew[#grew + 1] = r end
  end
  if os.getenv("SWEEP_ALL") then print(show_table(small, medium, large)) end
  if #grew > 0 then
    t.fail(#grew .. " route × viewer pairs grew with the data (statements: demo, +30, +60):\n"
      .. show_table(grew, medium, large))
  end
end)

-- ------------------------------------------------------------------ long lists come in pages

t.test("the people below a manager come 50 a page, by name, with the totals", function()
  local c = viewers[4].client -- Mia, an employee: anyone in the directory may ask
  local below = #require("core.authz").reports(P.ravi.id, false)
  t.ok(below > 60, "Ravi has more than a page of people below him")
  local first = t.status(c:get("/api/users/" .. P.ravi.id .. "/reports"), 200).json
  t.eq(#first.reports, 50)
  t.eq(first.total, below)
  t.eq(first.page, 1)
  t.eq(first.per_page, 50)
  t.eq(first.pages, 2)
  local second = t.status(c:get("/api/users/" .. P.ravi.id .. "/reports?page=2"), 200).json
  t.eq(#second.reports, below - 50)
  t.eq(second.page, 2)
  local seen = {}
  for _, r in ipairs(first.reports) do seen[r.id] = true end
  for _, r in ipairs(second.reports) do t.no(seen[r.id], "no one on both pages") end
  t.ok(util.before(first.reports[50].name, second.reports[1].name), "in name order across the pages")
  local direct = t.status(c:get("/api/users/" .. P.ravi.id .. "/reports?direct=1&per_page=200"), 200).json
  t.eq(direct.total, #direct.reports, "a page of 200 holds them all")
  t.eq(direct.pages, 1)
  t.eq(t.status(c:get("/api/users/" .. P.ravi.id .. "/reports?page=99"), 200).json.page, 1, "a page past the end: the first")
end)
