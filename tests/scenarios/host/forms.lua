-- Forms follow post/redirect/get: a refused post answers 303 to the form's own page, which
-- shows what was typed and the messages once. A reload of that page never posts the stale form
-- again, so it cannot overwrite what autosave stored since. What was typed is kept server-side,
-- encrypted, for one session and one form, read once, for a few minutes. JSON endpoints still
-- answer 4xx JSON.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local page = require "lib.page"

local P = t.demo()
local hr = t.login(demo.email("marcus"))
local cycle, rid

local TYPED = "Led the search rewrite — and the migration nobody wanted. 🚀"

t.test("a cycle runs with Mia as a reviewee", function()
  cycle = t.status(hr:post("/api/cycles", { name = "Forms round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201).json
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.mia.id, P.omar.id } }), 200)
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  rid = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.mia.id)
end)

t.test("a refused review post redirects to the review page, which shows the typed text and the message", function()
  local mia = t.login(demo.email("mia"))
  local res = mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = TYPED, q_q3_x = "140", q_q3_y = "50" })
  t.status(res, 303)
  t.eq(res.headers.location, "/reviews/" .. rid, "the review's own page, not the post's address")
  t.eq(db.value("SELECT count(*) FROM answers WHERE review_id = ?", rid), 0, "nothing was saved")
  local pg = t.status(mia:follow(res), 200)
  t.contains(pg.body, TYPED, "the typed text")
  t.contains(pg.body, "from 0 to 100", "the message at the question")
  t.contains(pg.body, "Some answers are not valid.", "and once at the top")
end)

t.test("after the redirect, autosave stores newer text; loading the page again shows it, not the refused post", function()
  local mia = t.login(demo.email("mia"))
  t.status(mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = TYPED, q_q3_x = "140", q_q3_y = "50" }), 303)
  t.contains(mia:get("/reviews/" .. rid).body, TYPED)
  -- the page's autosave (PUT, JSON) saves what Mia typed next
  local saved = t.status(mia:put("/api/reviews/" .. rid .. "/answers/self",
    { q_q1 = "Led the search rewrite (autosaved later).", q_q3_x = "40", q_q3_y = "50" }), 200)
  t.eq(saved.json.saved, true)
  -- a reload is a GET of the review page: it shows the autosaved text and posts nothing
  local again = t.status(mia:get("/reviews/" .. rid), 200)
  t.contains(again.body, "Led the search rewrite (autosaved later).")
  t.not_contains(again.body, TYPED, "the refused text is not shown twice")
  t.not_contains(again.body, "from 0 to 100")
  local stored = require("services.reviews").view(require("services.sessions").load_user(P.mia.id), rid).self
  t.eq(stored.q1, "Led the search rewrite (autosaved later).", "autosave's text is what is stored")
end)

t.test("a refused submit (required answer missing) comes back to the review page, the draft as typed", function()
  local mia = t.login(demo.email("mia"))
  local res = t.status(mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = "Short draft", q_q6 = "",
    after = "submit" }), 303)
  t.eq(res.headers.location, "/reviews/" .. rid)
  local pg = t.status(mia:follow(res), 200)
  t.contains(pg.body, "Short draft")
  t.contains(pg.body, "Answer the required questions before submitting.")
  t.contains(pg.body, '<div class="question field has-error"><h3 id="h-q6">', "the missing question is marked")
  t.eq(db.value("SELECT self_status FROM reviews WHERE id = ?", rid), "draft")
end)

t.test("what was typed is stored encrypted, bound to its session and form, and read once", function()
  local mia = t.login(demo.email("mia"))
  t.status(mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = TYPED, q_q3_x = "140", q_q3_y = "50" }), 303)
  local row = db.row("SELECT * FROM form_states WHERE form = ?", "/reviews/" .. rid)
  t.ok(row, "kept server-side")
  t.eq(db.value("SELECT count(*) FROM form_states WHERE instr(state_enc, ?) > 0", "search rewrite"), 0,
    "not in plain text")
  t.ok(row.expires_at <= t.now() + page.FORM_TTL)
  -- the ciphertext does not open for another form (or session)
  db.exec("UPDATE form_states SET form = ? WHERE session_id = ? AND form = ?", "/reviews/999", row.session_id, row.form)
  t.eq(page.kept({ session = { id = row.session_id }, path = "/reviews/999", method = "GET" }), nil,
    "a state moved to another form does not decrypt")
  t.eq(db.value("SELECT count(*) FROM form_states WHERE session_id = ?", row.session_id), 0, "and is gone")
  -- read once
  t.status(mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = TYPED, q_q3_x = "140", q_q3_y = "50" }), 303)
  t.contains(mia:get("/reviews/" .. rid).body, TYPED)
  t.not_contains(mia:get("/reviews/" .. rid).body, TYPED, "the second load shows the stored answers")
end)

t.test("another session of the same person does not get what was typed", function()
  local mia = t.login(demo.email("mia"))
  local other = t.login(demo.email("mia"))
  t.status(mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = TYPED, q_q3_x = "140", q_q3_y = "50" }), 303)
  t.not_contains(other:get("/reviews/" .. rid).body, TYPED)
  t.contains(mia:get("/reviews/" .. rid).body, TYPED)
end)

t.test("kept values expire after a few minutes and go when the session ends", function()
  local mia = t.login(demo.email("mia"))
  t.status(mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = TYPED, q_q3_x = "140", q_q3_y = "50" }), 303)
  t.advance(page.FORM_TTL + 1)
  mia = t.login(demo.email("mia"))
  t.not_contains(mia:get("/reviews/" .. rid).body, TYPED, "expired")
  t.status(mia:form("/reviews/" .. rid .. "/answers/self", { q_q1 = TYPED, q_q3_x = "140", q_q3_y = "50" }), 303)
  local sid = db.value("SELECT session_id FROM form_states WHERE form = ?", "/reviews/" .. rid)
  t.ok(sid)
  t.status(mia:form("/signout", {}), 303)
  t.eq(db.value("SELECT count(*) FROM form_states WHERE session_id = ?", sid), 0, "signing out drops them")
end)

t.test("passwords and codes are never kept", function()
  local c = t.login(demo.email("hana"))
  t.status(c:form("/account/password", { current_password = "my secret current one", password = "new secret phrase one",
    password_again = "new secret phrase two" }), 303)
  t.eq(db.value("SELECT count(*) FROM form_states"), 1)
  local state = page.kept({ session = { id = db.value("SELECT session_id FROM form_states") }, path = "/account/security",
    method = "GET" })
  t.ok(state.errors.password_again, "the message is kept")
  t.same(state.values, {}, "no password is")
end)

t.test("JSON endpoints answer a refusal with 4xx JSON, never a redirect", function()
  local mia = t.login(demo.email("mia"))
  local res = t.status(mia:put("/api/reviews/" .. rid .. "/answers/self", { q3 = { x = 140, y = 50 } }), 422)
  t.eq(res.json.error.code, "invalid")
  t.ok(res.json.error.fields.q3)
  t.eq(res.headers.location, nil)
  t.status(hr:post("/api/cycles", { name = "", start_date = "2026-01-05" }), 422)
end)

-- Every form of the product, refused: each answers 303 to a page that shows the problem.
local function forms()
  local tom, priya = t.login(demo.email("tom")), t.login(demo.email("priya"))
  return {
    { hr, "/people/new", { kind = "employee", name = "Ana", email = "nope" }, "/people/new", "is not an email" },
    { hr, "/people/" .. P.zoe.id .. "/edit", { name = "Zoe Chen", email = "not-an-email" }, "/people/" .. P.zoe.id .. "/edit",
      'class="field has-error"' },
    { priya, "/people/" .. P.priya.id .. "/roles", { hr_admin = "on" }, "/people/" .. P.priya.id .. "/roles",
      "this is the last one" },
    { priya, "/admin/users/settings", { guest_policy = "nobody?", company_domains = "" }, "/admin/users/settings",
      "Who can invite guests: must be one of" },
    { hr, "/cycles/new", { name = "", start_date = "2026-01-05" }, "/cycles/new", 'class="field has-error"' },
    { hr, "/cycles/" .. cycle.id .. "/edit", { name = "", start_date = "2026-01-05" }, "/cycles/" .. cycle.id .. "/edit",
      'class="field has-error"' },
    { hr, "/cycles/" .. cycle.id .. "/questions", { op = "save", s1_title = "" }, "/cycles/" .. cycle.id .. "/questions",
      "fixed once the cycle has started" },
    { hr, "/people/" .. P.emma.id .. "/password", { password = "x", password_again = "y" },
      "/people/" .. P.emma.id .. "/password", "not the same" },
    { tom, "/admin/security", { ip_ranges = "nonsense", password_min_length = "3" }, "/admin/security", "field-error" },
    { tom, "/admin/api-tokens", { name = "" }, "/admin/api-tokens", "Give the token a name" },
    { tom, "/admin/mail-server", { host = "bad host!", port = "x" }, "/admin/mail-server", "field-error" },
    { hr, "/admin/email-templates/user.invite", { action = "save", subject = "", text = "{{#x}}" },
      "/admin/email-templates/user.invite", "Write a subject." },
    { hr, "/people/import", { csv = " ", confirm = "0" }, "/people/import", "Paste the CSV text first." },
    { hr, "/admin/workflows/performance_review", { action = "save", source = "return {}", checked = "x" },
      "/admin/workflows/performance_review", "before saving" },
    { t.client(), "/signin", { email = demo.email("zoe"), password = "wrong wrong" }, "/", "not right" },
  }
end

t.test("every form, refused, redirects to its page, which shows the problem (and the page answers 200)", function()
  for _, f in ipairs(forms()) do
    local client, path, fields, back, shows = f[1], f[2], f[3], f[4], f[5]
    local res = client:form(path, fields)
    t.eq(res.status, 303, path .. ": status")
    t.eq((res.headers.location:match("^[^?#]*")), back, path .. ": back to the form's page")
    local pg = client:follow(res)
    t.eq(pg.status, 200, path .. ": the page")
    t.contains(pg.body, shows, path)
  end
end)
