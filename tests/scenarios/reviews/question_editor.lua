-- The question editor says what is wrong where it is wrong: every problem of a refused save at
-- its field, in plain words, the question marked, and a short list at the top linking to each.
-- Each question carries only the fields its kind uses (the script hides the others; without the
-- script all are there and the page still works).
local t = require "testing"
local demo = require "demo"
local cycles = require "services.cycles"

t.demo()
local hr = t.login(demo.email("marcus"))
local cycle, path

t.test("a draft cycle", function()
  cycle = t.status(hr:post("/api/cycles", { name = "Editor round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  path = "/cycles/" .. cycle.id .. "/questions"
end)

local BROKEN = {
  op = "save",
  s1_id = "s1", s1_title = "Looking back",
  s1_q1_id = "q1", s1_q1_text = "What went well?", s1_q1_type = "text", s1_q1_audience = "both",
  s1_q2_id = "q2", s1_q2_text = "Overall", s1_q2_type = "rating", s1_q2_audience = "manager", s1_q2_scale = "1",
  s2_id = "s2", s2_title = "",
  s2_q1_id = "q3", s2_q1_text = "Where are you?", s2_q1_type = "graph", s2_q1_audience = "manager", s2_q1_x_label = "Skill",
  s2_q1_y_label = "",
  s2_q2_id = "q4", s2_q2_text = "  ", s2_q2_type = "text", s2_q2_audience = "self",
}

t.test("every problem is shown at its field in plain words, listed at the top with a link to it", function()
  local res = t.status(hr:form(path, BROKEN), 303)
  t.eq(res.headers.location, path)
  local body = t.status(hr:follow(res), 200).body
  t.contains(body, "5 things to fix before the questions can be saved")
  -- the list at the top, in the form's order, each a link to its field
  local links = {}
  for href, text in body:gmatch('<li><a href="#([%w_]+)">([^<]+)</a></li>') do links[#links + 1] = href .. " " .. text end
  t.same(links, {
    "s1_q2_scale Question 2 in “Looking back”: Choose a scale from 2 to 10 points.",
    "s2_title Section 2: Give the section a title.",
    "s2_q1_audience Question 1 in section 2: A 2D graph is placed by the reviewee, or by both (each places a dot): "
      .. "choose “Reviewee only” or “Reviewee and manager” under Answered by.",
    "s2_q1_y_label Question 1 in section 2: Name the vertical axis (e.g. Motivation).",
    "s2_q2_text Question 2 in section 2: Write the question.",
  })
  -- each at its field, the field marked, the question highlighted
  t.contains(body, '<p class="field-error" id="s1_q2_scale-error">Choose a scale from 2 to 10 points.</p>')
  t.contains(body, 'id="s1_q2_scale" name="s1_q2_scale" type="number" min="2" max="10" value="1" aria-invalid="true" '
    .. 'aria-describedby="s1_q2_scale-error"')
  t.match(body, '<fieldset class="question%-edit[^"]*has%-error[^"]*" id="s1_q2"')
  t.match(body, '<fieldset class="question%-edit" id="s1_q1"', "a question without problems is not marked")
  t.contains(body, '<p class="field-error" id="s2_title-error">Give the section a title.</p>')
  local _, times = body:gsub("Choose a scale from 2 to 10 points%.", "")
  t.eq(times, 2, "once in the list, once at the field: no message repeating it on top")
  -- no developer wording
  t.not_contains(body, "(audience self)")
  t.not_contains(body, "section 2, question 1")
  -- what was typed stays, nothing was saved
  t.contains(body, "Where are you?</textarea>")
  t.eq(#cycles.get(cycle.id).questionnaire.sections, 3, "the default questions are still the saved ones")
end)

t.test("the API names each problem by its place in the questionnaire", function()
  local q = { sections = { { title = "A", questions = { { id = "q1", type = "rating", text = "R", scale = 11 },
    { id = "q1", type = "text", text = "" } } } } }
  local res = t.status(hr:patch("/api/cycles/" .. cycle.id, { questionnaire = q }), 422)
  t.eq(res.json.error.fields["sections[1].questions[1].scale"], "Choose a scale from 2 to 10 points.")
  t.eq(res.json.error.fields["sections[1].questions[2].text"], "Write the question.")
  t.contains(res.json.error.fields["sections[1].questions[2].id"], "same id")
  t.contains(res.json.error.message, "3 things to fix")
end)

t.test("each question carries only the fields its kind uses, for the script to show", function()
  local body = t.status(hr:get(path), 200).body
  t.contains(body, '<select id="s1_q1_type" name="s1_q1_type" data-question-type>')
  local rating = select(2, body:gsub('data%-show%-for="rating"', ""))
  local graph = select(2, body:gsub('data%-show%-for="graph"', ""))
  local questions = select(2, body:gsub("data%-question>", ""))
  t.eq(questions, 6)
  t.eq(rating, questions, "the scale and labels of each question, marked as rating fields")
  t.eq(graph, questions, "the axes, marked as graph fields")
  t.contains(body, 'id="s1_q1_scale"', "without the script every field is still in the page")
  local js = require("core.fs").read(require("app").app_dir .. "/static/candor.js")
  t.contains(js, '[data-show-for]', "the script hides the fields of the other kinds")
  t.not_contains(body, "<script>", "no inline script (the CSP forbids it)")
  t.not_contains(body, " style=", "no inline style")
end)

t.test("Enter in a field saves (the first button of the form is Save, not Remove section)", function()
  local body = t.status(hr:get(path), 200).body
  local first = body:match('<form method="post" action="' .. path .. '".-<button([^>]*)>')
  t.contains(first, 'value="save"')
end)

t.test("starting a cycle that is not ready lists what is missing, each linking to where it is fixed", function()
  local res = t.status(hr:form("/cycles/" .. cycle.id .. "/start", {}), 303)
  t.eq(res.headers.location, "/cycles/" .. cycle.id)
  local body = t.status(hr:follow(res), 200).body
  t.contains(body, "The cycle is not ready to start.")
  t.contains(body, '<li><a href="/cycles/' .. cycle.id .. '/reviewees">Add at least one reviewee first.</a></li>')
  t.eq(require("lib.db").value("SELECT phase FROM cycles WHERE id = ?", cycle.id), "draft")
  t.not_contains(hr:get("/cycles/" .. cycle.id).body, "Add at least one reviewee first.", "shown once")
end)
