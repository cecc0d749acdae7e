-- A reviewee without a manager (the CEO): adding them warns, in the picker and the API; HR
-- chooses who writes their review (recorded on the review, logged; never someone below them,
-- whom the hierarchy rule keeps from reading it); a cycle does not start while a review has
-- nobody to write it, and says whose.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local hr, lena
local function sign_in()
  hr = t.login(demo.email("marcus"))   -- HR Admin
  lena = t.login(demo.email("lena"))   -- HR Assistant
end

local cycle, ceo_review, chair

t.test("the picker marks people who have no manager", function()
  sign_in()
  cycle = t.status(lena:post("/api/cycles", { name = "Leadership review", start_date = "2026-01-05",
    self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  local page = t.status(lena:get("/cycles/" .. cycle.id .. "/reviewees?view=list&q=Olivia"), 200).body
  local row = page:match('<tr>%s*<td><input[^>]-value="' .. P.olivia.id .. '".-</tr>')
  t.ok(row, "Olivia's row")
  t.contains(row, "No manager")
  local other = page:match('<tr>%s*<td><input[^>]-value="' .. P.sofia.id .. '".-</tr>')
  t.not_contains(other or "", "No manager")
  local org = t.status(lena:get("/cycles/" .. cycle.id .. "/reviewees?view=org"), 200).body
  t.contains(org, "No manager")
end)

t.test("adding a reviewee without a manager warns, in the API", function()
  sign_in()
  local res = t.status(lena:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.olivia.id, P.sofia.id } }), 200)
  t.eq(res.json.added, 2)
  t.eq(#res.json.without_manager, 1)
  t.eq(res.json.without_manager[1].id, P.olivia.id)
  t.contains(res.json.warning, "Olivia Bennett has no manager")
  ceo_review = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.olivia.id)
end)

t.test("and on the page", function()
  sign_in()
  t.status(lena:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = {} }), 200)
  local res = t.status(lena:form("/cycles/" .. cycle.id .. "/reviewees", { ["ids[]"] = P.daniel.id, view = "list" }), 303)
  t.contains(lena:follow(res).body, "1 reviewee added.")
  t.status(hr:request("DELETE", "/api/cycles/" .. cycle.id .. "/reviewees", { body = { user_ids = { P.olivia.id } } }),
    200)
  res = t.status(lena:form("/cycles/" .. cycle.id .. "/reviewees", { ["ids[]"] = P.olivia.id, view = "list" }), 303)
  local body = lena:follow(res).body
  t.contains(body, "Olivia Bennett has no manager")
  t.contains(body, "choose who writes")
  ceo_review = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.olivia.id)
end)

t.test("the cycle does not start while a review has nobody to write it, and says whose", function()
  sign_in()
  local res = t.status(lena:post("/api/cycles/" .. cycle.id .. "/start"), 422)
  t.contains(res.json.error.fields.writers, "Olivia Bennett")
  t.eq(db.value("SELECT phase FROM cycles WHERE id = ?", cycle.id), "draft")
  local overview = lena:get("/cycles/" .. cycle.id).body
  t.contains(overview, 'href="/reviews/' .. ceo_review .. '#writer"', "the row leads to where the writer is chosen")
end)

t.test("nobody below the CEO can write her review: the hierarchy rule keeps them from reading it", function()
  sign_in()
  local res = t.status(lena:patch("/api/reviews/" .. ceo_review, { manager_id = P.priya.id }), 422)
  t.contains(res.json.error.fields.manager_id, "reports to Olivia Bennett")
end)

t.test("HR chooses someone outside her line (the board's chair); it is recorded and logged", function()
  sign_in()
  chair = t.status(hr:post("/api/users", { email = "chair@northwind.example", name = "Casey Chair",
    job_title = "Chair of the Board" }), 201).json
  local page = t.status(lena:get("/reviews/" .. ceo_review), 200).body
  t.contains(page, 'id="writer"')
  t.contains(page, 'action="/reviews/' .. ceo_review .. '/manager"')
  local res = t.status(lena:form("/reviews/" .. ceo_review .. "/manager", { manager_email = "chair@northwind.example" }), 303)
  t.contains(lena:follow(res).body, "Casey Chair writes this review")
  local r = db.row("SELECT * FROM reviews WHERE id = ?", ceo_review)
  t.eq(r.manager_id, chair.id)
  t.eq(r.manager_chosen_by, P.lena.id)
  local a = db.row("SELECT * FROM audit_log WHERE action = 'review.manager' AND target_id = ?", ceo_review)
  t.eq(a.actor_id, P.lena.id)
  t.ok(db.value("SELECT 1 FROM review_events WHERE review_id = ? AND action = 'manager_changed'", ceo_review))
end)

t.test("the start keeps the chosen writer; the writer is told", function()
  sign_in()
  t.status(lena:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  t.run_jobs()
  t.eq(db.value("SELECT manager_id FROM reviews WHERE id = ?", ceo_review), chair.id)
  t.eq(db.value("SELECT manager_id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.sofia.id), P.olivia.id)
  t.eq(#t.outbox({ template = "review.manager_started", to = "chair@northwind.example" }), 1)
end)

t.test("someone without a manager joining the running cycle is told nobody writes their review yet", function()
  sign_in()
  local newcomer = t.status(hr:post("/api/users", { email = "new.vp@northwind.example", name = "Vera Newvp" }), 201).json
  local res = t.status(lena:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { newcomer.id } }), 200)
  t.eq(res.json.without_manager[1].id, newcomer.id)
  local id = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, newcomer.id)
  db.transaction(function()
    db.exec("UPDATE users SET status = 'active', password_hash = (SELECT password_hash FROM users WHERE id = ?) WHERE id = ?",
      P.zoe.id, newcomer.id)
  end)
  require("services.access").sync(newcomer.id)
  local vera = t.login("new.vp@northwind.example")
  local body = vera:get("/reviews/" .. id).body
  t.contains(body, "Nobody is set to write your review yet")
  t.not_contains(body, "is writing your review")
end)

t.test("the cycle's overview filters the reviews nobody writes", function()
  sign_in()
  local body = t.status(lena:get("/cycles/" .. cycle.id .. "?status=no_writer"), 200).body
  t.contains(body, "Vera Newvp")
  t.not_contains(body, "Sofia Alvarez")
  local api = t.status(lena:get("/api/cycles/" .. cycle.id .. "/reviewees?status=no_writer"), 200).json
  t.eq(api.total, 1)
end)
