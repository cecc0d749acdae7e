-- Pulse surveys over HTTP: the JSON API (/api/surveys...) and the pages (the list, the form, a
-- survey's page, its results and participation, the answer page). Handlers translate requests to
-- services/surveys and services/survey_results calls and back; every rule is in the services.
-- Everything answers 404 "switched off" while the company does not use pulse surveys.
local web = require "lib.web"
local page = require "lib.page"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local events = require "lib.events"
local access = require "services.access"
local surveys = require "services.surveys"
local results = require "services.survey_results"
local features = require "services.features"

local M = {}

-- ------------------------------------------------------------------ JSON shapes

local function null(v) if v == nil then return json.null end return v end

local function survey_json(s)
  local qs = {}
  for i, q in ipairs(s.questions) do
    qs[i] = { text = q.text, scale = q.scale, low = null(q.low), high = null(q.high) }
  end
  return { id = s.id, title = s.title, intro = s.intro, creator_id = null(s.creator_id), participants = s.participants,
    starts_on = s.starts_on, frequency = s.frequency, round_days = s.round_days, questions = json.array(qs),
    comment_question = null(s.comment_question), threshold = s.threshold, share_managers = s.share_managers,
    phase = s.phase, next_opens_on = null(s.next_opens_on), created_at = s.created_at, ended_at = null(s.ended_at) }
end

local function round_json(r, with_counts)
  local j = { id = r.id, seq = r.seq, opens_on = r.opens_on, closes_on = r.closes_on, status = r.status }
  if with_counts then j.invited, j.responded, j.rate = r.invited, r.responded, r.rate end
  return j
end

local function results_json(res)
  local rounds = {}
  for i, r in ipairs(res.rounds) do
    rounds[i] = { id = r.id, seq = r.seq, opens_on = r.opens_on, closes_on = r.closes_on, responded = r.responded,
      invited = null(r.invited), hidden = r.hidden }
  end
  local questions = {}
  for i, q in ipairs(res.questions) do
    local dist = {}
    for k, d in ipairs(q.distribution or {}) do dist[k] = d.n end
    questions[i] = { text = q.text, scale = q.scale, hidden = q.hidden, responses = null(q.n),
      average = null(q.average), distribution = q.distribution and json.array(dist) or json.null }
  end
  local trend = {}
  for i, t in ipairs(res.trend) do
    local pts = {}
    for k, p in ipairs(t.points) do pts[k] = { round = p.seq, average = null(p.average) } end
    trend[i] = { text = t.text, points = json.array(pts) }
  end
  local breakdowns = json.null
  if res.breakdowns then
    breakdowns = {}
    for i, b in ipairs(res.breakdowns) do
      local groups = {}
      for _, g in ipairs(b.groups) do
        if not g.hidden then
          local avgs = {}
          for k = 1, #res.questions do avgs[k] = null(g.averages[k]) end
          groups[#groups + 1] = { name = g.label, responses = g.n, averages = json.array(avgs) }
        end
      end
      breakdowns[i] = { dimension = b.dimension, groups = json.array(groups), hidden_groups = b.hidden_count }
    end
    breakdowns = json.array(breakdowns)
  end
  return { survey_id = res.survey.id, view = res.view, threshold = res.threshold,
    round = res.round and { id = res.round.id, seq = res.round.seq, responded = res.round.responded,
      hidden = res.round.hidden } or json.null,
    rounds = json.array(rounds), questions = json.array(questions), trend = json.array(trend),
    comments = res.comments and json.array(res.comments) or json.null, breakdowns = breakdowns }
end

-- ------------------------------------------------------------------ forms

local function checked(v) return v == "on" or v == "1" or v == "true" end

-- The survey body of the create / edit form's fields (questions as q1_text, q1_scale, ...).
local function form_input(f, editing)
  local input = { title = f.title, intro = f.intro, starts_on = f.starts_on, frequency = f.frequency,
    round_days = f.round_days, threshold = f.threshold }
  if not editing or f.participants then input.participants = f.participants end
  local qs = {}
  for i = 1, surveys.QUESTIONS_MAX do
    local text = util.trim(f["q" .. i .. "_text"] or "")
    if text ~= "" then
      qs[#qs + 1] = { text = text, scale = f["q" .. i .. "_scale"], low = f["q" .. i .. "_low"], high = f["q" .. i .. "_high"] }
    end
  end
  if f.q1_text ~= nil then input.questions = qs end
  if f.comment_question ~= nil then
    input.comment_question = checked(f.comment_on) and f.comment_question or json.null
  end
  if not editing and input.participants == "selected" then
    input.people_ids = surveys.ids_of_emails(f.people or "", "people")
  end
  return input
end

-- The form's values from a survey (to edit it) or the defaults (a new one).
local function form_values(s)
  local v = { title = s and s.title or surveys.DEFAULT_TITLE, intro = s and s.intro or "",
    starts_on = s and s.starts_on or dates.today(), frequency = s and s.frequency or "monthly",
    round_days = tostring(s and s.round_days or 5), threshold = tostring(s and s.threshold or surveys.company_threshold()),
    participants = s and s.participants or "everyone",
    comment_on = (not s or s.comment_question) and "on" or nil,
    comment_question = s and s.comment_question or "Anything you would like to add?" }
  local qs = s and s.questions or {
    { text = "How happy are you at work right now?", scale = 5, low = "Not at all", high = "Very" },
    { text = "How manageable is your workload?", scale = 5, low = "Overwhelming", high = "Comfortable" },
    { text = "How likely are you to recommend us as a place to work?", scale = 10, low = "Not likely", high = "Very likely" },
  }
  for i, q in ipairs(qs) do
    v["q" .. i .. "_text"], v["q" .. i .. "_scale"] = q.text, tostring(q.scale)
    v["q" .. i .. "_low"], v["q" .. i .. "_high"] = q.low, q.high
  end
  return v
end

local function rows_for(values)
  local n = 0
  for i = 1, surveys.QUESTIONS_MAX do if util.trim(values["q" .. i .. "_text"] or "") ~= "" then n = i end end
  return math.min(surveys.QUESTIONS_MAX, math.max(3, n) + 2)
end

local function render_form(req, s, path)
  local kept = page.kept(req)
  local values = kept and kept.values or form_values(s)
  return page.render(req, "survey_form", { title = s and "Edit the survey" or "New pulse survey", survey = s,
    values = values, errors = kept and kept.errors or {}, rows = rows_for(values), action = path,
    frequencies = surveys.FREQUENCIES, frequency_labels = surveys.FREQUENCY_LABELS,
    floor = surveys.company_threshold(), locked = s and s.phase ~= "draft" and s.phase ~= "scheduled" },
    { nav = "surveys" })
end

local function survey_path(id) return "/surveys/" .. id end

function M.routes(router)
  local r = features.guard(router, "surveys")

  -- ---------------------------------------------------------------- API
  r:add{ method = "GET", path = "/api/surveys", auth = "user", perm = "object",
    handler = function(req)
      local l = surveys.list(req.user)
      local function list(rows)
        local out = {}
        for i, s in ipairs(rows) do
          local j = survey_json(s)
          j.people, j.rounds = s.people, s.rounds_count
          j.current_round = s.round and round_json(s.round) or json.null
          out[i] = j
        end
        return json.array(out)
      end
      local answer = {}
      for i, a in ipairs(l.to_answer) do
        answer[i] = { round_id = a.round_id, survey_id = a.survey_id, title = a.title, closes_on = a.closes_on }
      end
      return web.json(200, { surveys = list(l.managed), shared = list(l.shared), to_answer = json.array(answer) })
    end }

  r:add{ method = "POST", path = "/api/surveys", auth = "user", perm = "surveys.create",
    handler = function(req)
      local s = surveys.create(req.user, web.body(req), req)
      return web.json(201, survey_json(s), { Location = "/api/surveys/" .. s.id })
    end }

  r:add{ method = "GET", path = "/api/surveys/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local s = surveys.get(req.user, req.params.id)
      local j = survey_json(s)
      j.view = s.reader
      if s.can.manage then
        local rounds = {}
        for i, x in ipairs(surveys.rounds(s.id)) do rounds[i] = round_json(x, true) end
        j.rounds = json.array(rounds)
        j.people = surveys.count_people(s.id)
        local shares = {}
        for i, u in ipairs(surveys.shares(s.id)) do shares[i] = { id = u.id, name = u.name } end
        j.shared_with = json.array(shares)
      end
      return web.json(200, j)
    end }

  r:add{ method = "PATCH", path = "/api/surveys/{id:int}", auth = "user", perm = "object",
    handler = function(req) return web.json(200, survey_json(surveys.update(req.user, req.params.id, web.body(req), req))) end }

  r:add{ method = "DELETE", path = "/api/surveys/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local q = web.query(req)
      surveys.delete(req.user, req.params.id, q.confirm == "true" or q.confirm == "1", req)
      return web.no_content()
    end }

  r:add{ method = "POST", path = "/api/surveys/{id:int}/launch", auth = "user", perm = "object",
    handler = function(req) return web.json(200, survey_json(surveys.launch(req.user, req.params.id, req))) end }

  r:add{ method = "POST", path = "/api/surveys/{id:int}/end", auth = "user", perm = "object",
    handler = function(req) return web.json(200, survey_json(surveys.finish(req.user, req.params.id, req))) end }

  r:add{ method = "POST", path = "/api/surveys/{id:int}/people", auth = "user", perm = "object",
    handler = function(req)
      local n = surveys.add_people(req.user, req.params.id, web.body(req).user_ids, req)
      return web.json(200, { added = n, people = surveys.count_people(req.params.id) })
    end }

  r:add{ method = "POST", path = "/api/surveys/{id:int}/people/remove", auth = "user", perm = "object",
    handler = function(req)
      local n = surveys.remove_people(req.user, req.params.id, web.body(req).user_ids, req)
      return web.json(200, { removed = n, people = surveys.count_people(req.params.id) })
    end }

  r:add{ method = "PUT", path = "/api/surveys/{id:int}/shares", auth = "user", perm = "object",
    handler = function(req)
      local s = surveys.share(req.user, req.params.id, web.body(req), req)
      local shares = {}
      for i, u in ipairs(surveys.shares(s.id)) do shares[i] = { id = u.id, name = u.name } end
      return web.json(200, { user_ids = json.array(util.map(shares, function(x) return x.id end)),
        shared_with = json.array(shares), managers = s.share_managers })
    end }

  r:add{ method = "GET", path = "/api/surveys/{id:int}/results", auth = "user", perm = "object",
    handler = function(req)
      return web.json(200, results_json(results.results(req.user, req.params.id, web.query(req).round)))
    end }

  r:add{ method = "GET", path = "/api/surveys/{id:int}/participation", auth = "user", perm = "object",
    handler = function(req)
      local p = results.participation(req.user, req.params.id)
      local rounds, groups = {}, {}
      for i, x in ipairs(p.rounds) do rounds[i] = round_json(x, true) end
      for _, g in ipairs(p.departments) do
        if not g.hidden then groups[#groups + 1] = { name = g.label, invited = g.n, responded = g.responded, rate = g.rate } end
      end
      return web.json(200, { survey_id = p.survey.id, threshold = p.threshold, rounds = json.array(rounds),
        departments = json.array(groups), hidden_departments = #p.departments - #groups })
    end }

  r:add{ method = "GET", path = "/api/surveys/{id:int}/export.csv", auth = "user", perm = "object",
    handler = function(req)
      local text, s = results.csv(req.user, req.params.id, req)
      -- the byte-order mark tells spreadsheets (Excel) the file is UTF-8, not the local code page
      return web.file("\239\187\191" .. text, "text/csv; charset=utf-8", s.title .. ".csv")
    end }

  r:add{ method = "GET", path = "/api/surveys/rounds/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local v = surveys.round_for(req.user, req.params.id)
      local j = round_json(v.round)
      j.survey = { id = v.survey.id, title = v.survey.title, intro = v.survey.intro,
        questions = survey_json(v.survey).questions, comment_question = null(v.survey.comment_question) }
      j.answered = v.answered
      return web.json(200, j)
    end }

  r:add{ method = "POST", path = "/api/surveys/rounds/{id:int}/answers", auth = "user", perm = "object",
    handler = function(req)
      surveys.answer(req.user, req.params.id, web.body(req), req)
      return web.json(201, { answered = true })
    end }

  r:add{ method = "GET", path = "/api/settings/surveys", auth = "user", perm = "surveys.settings",
    handler = function() return web.json(200, { default_threshold = surveys.company_threshold() }) end }

  r:add{ method = "PUT", path = "/api/settings/surveys", auth = "user", perm = "surveys.settings",
    handler = function(req)
      return web.json(200, { default_threshold = surveys.set_company_threshold(req.user,
        web.body(req).default_threshold, req) })
    end }

  -- ---------------------------------------------------------------- pages
  r:add{ method = "POST", path = "/surveys/settings", auth = "user", perm = "surveys.settings",
    handler = function(req)
      local f = web.form(req)
      local ok, res = page.form(req, { back = "/surveys#settings", form = "/surveys", values = f },
        surveys.set_company_threshold, req.user, f.default_threshold, req)
      if not ok then return res end
      return page.redirect("/surveys#settings", "success", "The company's threshold is " .. res .. ".")
    end }

  r:add{ method = "GET", path = "/surveys", auth = "user", perm = "object",
    handler = function(req)
      local l = surveys.list(req.user)
      local mine_only = web.query(req).mine == "1"
      if mine_only then
        local only = {}
        for _, s in ipairs(l.managed) do if s.mine then only[#only + 1] = s end end
        l.managed = only
      end
      local kept = page.kept(req)
      return page.render(req, "surveys_list", { title = "Pulse surveys", l = l, mine_only = mine_only,
        settings = access.can(req.user, "surveys.settings") and {
          value = kept and kept.values.default_threshold or surveys.company_threshold(),
          error = kept and kept.errors.default_threshold } or nil,
        phase_labels = surveys.PHASE_LABELS, frequency_labels = surveys.FREQUENCY_LABELS }, { nav = "surveys" })
    end }

  r:add{ method = "GET", path = "/surveys/new", auth = "user", perm = "surveys.create",
    handler = function(req) return render_form(req, nil, "/surveys/new") end }

  r:add{ method = "POST", path = "/surveys/new", auth = "user", perm = "surveys.create",
    handler = function(req)
      local f = web.form(req)
      local ok, s = page.form(req, { back = "/surveys/new", values = f }, function()
        return surveys.create(req.user, form_input(f), req)
      end)
      if not ok then return s end
      return page.redirect(survey_path(s.id), "success", "The survey is saved as a draft. Launch it when it is ready.")
    end }

  r:add{ method = "GET", path = "/surveys/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local s = surveys.get(req.user, req.params.id)
      if not s.can.manage then return web.redirect(survey_path(s.id) .. "/results") end
      local kept = page.kept(req)
      local selected, selected_count = {}, 0
      if s.participants == "selected" then selected, selected_count = surveys.people(s.id, 12) end
      return page.render(req, "survey_show", { title = s.title, s = s, rounds = surveys.rounds(s.id),
        people = surveys.count_people(s.id), selected = selected, selected_count = selected_count,
        shares = surveys.shares(s.id), phase_labels = surveys.PHASE_LABELS, frequency_labels = surveys.FREQUENCY_LABELS,
        kept = kept or {}, today = dates.today() }, { nav = "surveys" })
    end }

  r:add{ method = "GET", path = "/surveys/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local s = surveys.get(req.user, req.params.id)
      if not s.can.manage then return web.redirect(survey_path(s.id) .. "/results") end
      return render_form(req, s, survey_path(s.id) .. "/edit")
    end }

  r:add{ method = "POST", path = "/surveys/{id:int}/edit", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local back = survey_path(req.params.id) .. "/edit"
      local ok, res = page.form(req, { back = back, values = f }, function()
        return surveys.update(req.user, req.params.id, form_input(f, true), req)
      end)
      if not ok then return res end
      return page.redirect(survey_path(req.params.id), "success", "Saved.")
    end }

  -- the one-button actions of a survey's page
  local actions = {
    launch = { run = function(req) return surveys.launch(req.user, req.params.id, req) end,
      said = "Launched. The first round opens on the start date and everyone taking part gets an invitation." },
    ["end"] = { run = function(req) return surveys.finish(req.user, req.params.id, req) end,
      said = "The survey has ended. Its results stay." },
    people = { run = function(req, f)
        return surveys.add_people(req.user, req.params.id, surveys.ids_of_emails(f.people or "", "people"), req)
      end, said = "Added." },
    remove = { run = function(req, f)
        return surveys.remove_people(req.user, req.params.id, surveys.ids_of_emails(f.remove or "", "remove"), req)
      end, said = "Taken off the survey." },
    share = { run = function(req, f)
        return surveys.share(req.user, req.params.id, { user_ids = surveys.ids_of_emails(f.shared or "", "shared"),
          managers = checked(f.managers) }, req)
      end, said = "Sharing saved. The people newly given the results get a mail." },
  }
  for name, a in pairs(actions) do
    r:add{ method = "POST", path = "/surveys/{id:int}/" .. name, auth = "user", perm = "object",
      handler = function(req)
        local f = web.form(req)
        local back = survey_path(req.params.id)
        local ok, res = page.form(req, { back = back .. "#" .. name, form = back, values = f, extra = { form = name } },
          function() return a.run(req, f) end)
        if not ok then return res end
        return page.redirect(back, "success", a.said)
      end }
  end

  r:add{ method = "POST", path = "/surveys/{id:int}/delete", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local back = survey_path(req.params.id)
      local ok, res = page.form(req, { back = back .. "#delete", form = back, values = f, extra = { form = "delete" } },
        function() return surveys.delete(req.user, req.params.id, checked(f.confirm), req) end)
      if not ok then return res end
      return page.redirect("/surveys", "success", "The survey and every answer in it are deleted.")
    end }

  r:add{ method = "GET", path = "/surveys/{id:int}/results", auth = "user", perm = "object",
    handler = function(req)
      local res = results.results(req.user, req.params.id, web.query(req).round)
      return page.render(req, "survey_results", { title = res.survey.title .. ": results", res = res, s = res.survey },
        { nav = "surveys" })
    end }

  r:add{ method = "GET", path = "/surveys/{id:int}/participation", auth = "user", perm = "object",
    handler = function(req)
      local p = results.participation(req.user, req.params.id)
      return page.render(req, "survey_participation", { title = p.survey.title .. ": participation", p = p, s = p.survey },
        { nav = "surveys" })
    end }

  r:add{ method = "GET", path = "/surveys/rounds/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local v = surveys.round_for(req.user, req.params.id)
      local kept = page.kept(req)
      return page.render(req, "survey_answer", { title = v.survey.title, v = v, values = kept and kept.values or {},
        errors = kept and kept.errors or {} }, { nav = "surveys" })
    end }

  r:add{ method = "POST", path = "/surveys/rounds/{id:int}", auth = "user", perm = "object",
    handler = function(req)
      local f = web.form(req)
      local back = "/surveys/rounds/" .. req.params.id
      local answers = {}
      for i = 1, surveys.QUESTIONS_MAX do answers[i] = f["q" .. i] or false end
      local ok, res = page.form(req, { back = back, values = f }, function()
        return surveys.answer(req.user, req.params.id, { answers = answers, comment = f.comment }, req)
      end)
      if not ok then return res end
      return page.redirect(back, "success", "Thank you: your answers are in, anonymously.")
    end }

  -- ---------------------------------------------------------------- elsewhere
  events.hook("page.nav", function(e)
    if e.user.kind ~= "guest" and features.on("surveys") and surveys.has_any(e.user) then
      e.items[#e.items + 1] = { id = "surveys", label = "Surveys", href = "/surveys", icon = "✓", order = 25 }
    end
  end)

  events.hook("admin.tiles", function(e)
    if not features.on("surveys") then return end
    e.links["surveys.create"] = { href = "/surveys/new" }
    e.links["surveys.manage"] = { href = "/surveys", hint = "Open a survey" }
    e.links["surveys.delete"] = { href = "/surveys", hint = "Open a survey" }
    e.links["surveys.settings"] = { href = "/surveys", hint = "At the bottom of the list" }
  end)

  events.hook("page.quick_create", function(e)
    if features.on("surveys") and access.can(e.user, "surveys.create") then
      e.items[#e.items + 1] = { label = "Pulse survey", href = "/surveys/new" }
    end
  end)

  events.hook("home.todos", function(e)
    if e.user.kind == "guest" or not features.on("surveys") then return end
    for _, a in ipairs(surveys.to_answer(e.user)) do
      e.items[#e.items + 1] = { label = "Answer the pulse survey “" .. a.title .. "”", href = "/surveys/rounds/" .. a.round_id,
        due = a.closes_on }
    end
  end)
end

return M
