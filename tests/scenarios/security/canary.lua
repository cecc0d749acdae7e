-- Encryption at rest, checked on the files: confidential text written through the API (today
-- the TOTP secrets, review answers, 1:1 titles and items, messages, objectives, invitation and
-- reset links in queued mail; the rest add their writer to canary_lib.check) is nowhere in plain
-- text in the database file, its WAL or a backup, and ciphertexts swapped between rows do not open.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local totp = require "core.totp"
local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "canary_lib.lua")

local dir = canary.file_backed()

-- Enrols email in 2-step through the API; returns the secret the API showed.
local function enrol(email)
  local c = t.login(email)
  local secret = t.status(c:post("/api/account/2fa/setup"), 200).json.secret
  t.status(c:post("/api/account/2fa/confirm", { code = totp.code(secret, t.now()) }), 200)
  return secret
end

t.test("TOTP secrets written through the API are not in the database, the WAL or a backup", function()
  local r = canary.check{ dir = dir, write = function()
    return { enrol(demo.email("zoe")), enrol(demo.email("leo")) }
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

-- A running cycle with Ethan (managed by Lucas) and Mia (by Ravi) to write review answers through
-- the API (Zoe and Leo use 2-step since the test above).
local function review_of(key)
  local hr = t.login(demo.email("marcus"))
  local cycle_id = db.value("SELECT id FROM cycles WHERE name = 'Canary cycle'")
  if not cycle_id then
    local res = t.status(hr:post("/api/cycles", { name = "Canary cycle", start_date = "2026-01-05",
      self_due = "2026-01-19", manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201)
    cycle_id = res.json.id
    local P = t.demo()
    t.status(hr:post("/api/cycles/" .. cycle_id .. "/reviewees", { user_ids = { P.ethan.id, P.mia.id } }), 200)
    t.status(hr:post("/api/cycles/" .. cycle_id .. "/start"), 200)
  end
  return db.value([[SELECT r.id FROM reviews r JOIN users u ON u.id = r.reviewee_id
    WHERE r.cycle_id = ? AND u.email = ?]], cycle_id, demo.email(key))
end

t.test("review answers written through the API are not in the database, the WAL or a backup", function()
  local r = canary.check{ dir = dir, write = function()
    local ethan_review, mia_review = review_of("ethan"), review_of("mia")
    local a = "Ethan's canary: the lighthouse keeper sings at dawn"
    local b = "Ravi's canary: the orchard blooms twice a year"
    t.status(t.login(demo.email("ethan")):put("/api/reviews/" .. ethan_review .. "/answers/self", { q1 = a }), 200)
    t.status(t.login(demo.email("ravi")):put("/api/reviews/" .. mia_review .. "/answers/manager", { q1 = b }), 200)
    return { a, b }
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

t.test("swapping two answers' ciphertexts between reviews makes both fail to decrypt", function()
  local ethan_review, mia_review = review_of("ethan"), review_of("mia")
  t.status(t.login(demo.email("mia")):put("/api/reviews/" .. mia_review .. "/answers/self", { q1 = "Mia's own words" }), 200)
  canary.swap_check{ table = "answers", column = "value_enc", a = { ethan_review, "self", "q1" },
    b = { mia_review, "self", "q1" }, read = function()
      local res = t.login(demo.email("ethan")):get("/api/reviews/" .. ethan_review)
      t.eq(res.status, 500, "an answer that does not open is an error, never someone else's text")
    end }
end)

t.test("1:1 titles, talking points, notes and action items are not in the database, the WAL or a backup", function()
  local P = t.demo()
  local r = canary.check{ dir = dir, write = function()
    local ravi, mia = t.login(demo.email("ravi")), t.login(demo.email("mia"))
    local title = "Canary series: the heron waits by the old mill"
    local s = t.status(ravi:post("/api/meeting-series", { with_id = P.mia.id, title = title, date = "2026-01-07" }), 201).json
    local texts = {
      { ravi, "point", "Canary point: violet kites over the harbour", false },
      { ravi, "point", "Canary private point: the copper bell rings thrice", true },
      { mia, "note", "Canary note: seven lanterns on the quay", false },
      { mia, "action", "Canary action: paint the blue gate before spring", true },
    }
    local out = { title }
    for _, x in ipairs(texts) do
      t.status(x[1]:post("/api/meetings/" .. s.meeting_id .. "/items", { kind = x[2], text = x[3], private = x[4] }), 201)
      out[#out + 1] = x[3]
    end
    return out
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

t.test("swapping two 1:1 items' ciphertexts (or two series' titles) makes them fail to decrypt", function()
  local a = db.value("SELECT id FROM meeting_items WHERE kind = 'point' AND private = 0")
  local b = db.value("SELECT id FROM meeting_items WHERE kind = 'note'")
  local mid = db.value("SELECT id FROM meetings ORDER BY id LIMIT 1")
  canary.swap_check{ table = "meeting_items", column = "text_enc", a = { a }, b = { b }, read = function()
    local res = t.login(demo.email("ravi")):get("/api/meetings/" .. mid)
    t.eq(res.status, 500, "an item that does not open is an error, never another item's text")
  end }
  local P = t.demo()
  t.status(t.login(demo.email("lucas")):post("/api/meeting-series", { with_id = P.zoe.id, title = "Second title",
    date = "2026-01-08" }), 201)
  local s1, s2 = db.value("SELECT min(id) FROM meeting_series"), db.value("SELECT max(id) FROM meeting_series")
  canary.swap_check{ table = "meeting_series", column = "title_enc", a = { s1 }, b = { s2 }, read = function()
    t.eq(t.login(demo.email("ravi")):get("/api/meeting-series/" .. s1).status, 500)
  end }
end)

-- A running 360 cycle in which Zoe's reviewers are Ethan and Hana (neither uses 2-step verification) (approved by an HR Admin).
local function feedback_request(key)
  local hr = t.login(demo.email("marcus"))
  local P = t.demo()
  local subject = db.value([[SELECT s.id FROM feedback_subjects s JOIN feedback_cycles c ON c.id = s.cycle_id
    WHERE c.name = 'Canary 360']])
  if not subject then
    local c = t.status(hr:post("/api/feedback/cycles", { name = "Canary 360", start_date = "2026-01-05",
      rules = { min = 0, max = 5, suggested = 2 } }), 201).json
    t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/reviewees", { user_ids = { P.zoe.id } }), 200)
    t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/start"), 200)
    subject = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ?", c.id)
    for _, r in ipairs({ "ethan", "hana" }) do
      t.status(hr:post("/api/feedback/360/" .. subject .. "/nominations", { reviewer_id = P[r].id }), 201)
    end
    t.status(hr:post("/api/feedback/approvals", { subject_ids = { subject } }), 200)
  end
  return db.value([[SELECT r.id FROM feedback_nominations r JOIN users u ON u.id = r.reviewer_id
    WHERE r.subject_id = ? AND u.email = ?]], subject, demo.email(key))
end

t.test("360 feedback and decline reasons written through the API are not in the database, the WAL or a backup", function()
  local r = canary.check{ dir = dir, write = function()
    local a = "Ethan's 360 canary: the violin case holds a map of Lisbon"
    local b = "Hana's 360 canary: a reason nobody else may read"
    local ethan = t.login(demo.email("ethan"))
    local id = feedback_request("ethan")
    t.status(ethan:put("/api/feedback/requests/" .. id .. "/answers", { q1 = a }), 200)
    t.status(ethan:post("/api/feedback/requests/" .. id .. "/share"), 200)
    t.status(t.login(demo.email("hana")):post("/api/feedback/requests/" .. feedback_request("hana") .. "/decline",
      { reason = b }), 200)
    return { a, b }
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

t.test("swapping two reviewers' feedback ciphertexts makes both fail to decrypt", function()
  local hana = feedback_request("hana")
  local ethan = feedback_request("ethan")
  db.transaction(function()
    db.exec("UPDATE feedback_nominations SET status = 'approved', declined_at = NULL WHERE id = ?", hana)
  end)
  t.status(t.login(demo.email("hana")):put("/api/feedback/requests/" .. hana .. "/answers", { q1 = "Hana's own words" }), 200)
  canary.swap_check{ table = "feedback_answers", column = "value_enc", a = { ethan, "q1" }, b = { hana, "q1" },
    read = function()
      local res = t.login(demo.email("ethan")):get("/api/feedback/requests/" .. ethan)
      t.eq(res.status, 500, "an answer that does not open is an error, never someone else's text")
    end }
end)

-- The secret part of the link in the newest queued mail of template to email, as it will be sent.
local function queued_token(template, email)
  local list = t.outbox({ template = template, to = email })
  local m = list[#list]
  t.ok(m, "a " .. template .. " mail to " .. email)
  return (m.body_text:match("token=([%w%-_]+)"))
end

t.test("password-reset and invitation links in queued mail are not in the database, the WAL or a backup", function()
  local r = canary.check{ dir = dir, write = function()
    -- someone asks for a reset (signed out); HR adds a person with an invitation
    t.status(t.client():post("/api/password/forgot", { email = demo.email("ethan") }), 202)
    local hr = t.login(demo.email("marcus"))
    t.status(hr:post("/api/users", { email = "canary.invite@northwind.example", name = "Cara Invite", invite = true }), 201)
    local reset = queued_token("password.reset", demo.email("ethan"))
    local invite = queued_token("user.invite", "canary.invite@northwind.example")
    t.ok(reset and #reset >= 20 and invite and #invite >= 20, "the mails carry their links")
    -- the links work: they are what gets sent
    t.status(t.client():get("/password/set?token=" .. reset), 200)
    return { reset, invite }
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

t.test("a queued mail's sealed text is bound to its row", function()
  local a = db.value("SELECT id FROM outbox WHERE template = 'password.reset' AND body_enc IS NOT NULL ORDER BY id DESC")
  local b = db.value("SELECT id FROM outbox WHERE template = 'user.invite' AND body_enc IS NOT NULL ORDER BY id DESC")
  canary.swap_check{ table = "outbox", column = "body_enc", a = { a }, b = { b } }
end)

t.test("the check itself fails when a secret is stored in plain text", function()
  -- a column that is not encrypted (the outbox subject) stands in for a forgotten encryption
  local ok, err = pcall(canary.check, { dir = dir, write = function()
    local sentence = "Plain canary " .. require("core.crypto").hex(require("core.crypto").random(6))
    db.transaction(function()
      db.exec([[INSERT INTO outbox(created_at, template, to_email, subject, body_text) VALUES(?,?,?,?,?)]],
        t.now(), "test", "x@example.com", sentence, "-")
    end)
    return sentence
  end })
  t.no(ok, "the check passed although the sentence was stored in plain text")
  t.contains(tostring(type(err) == "table" and err.message or err), "in plain text")
end)

t.test("swapping two TOTP ciphertexts between users makes both fail to decrypt", function()
  local zoe = db.value("SELECT id FROM users WHERE email = ?", demo.email("zoe"))
  local leo = db.value("SELECT id FROM users WHERE email = ?", demo.email("leo"))
  canary.swap_check{ table = "user_totp", column = "secret_enc", a = { zoe }, b = { leo }, read = function()
    -- Zoe signing in with a right code while the rows are swapped does not get in
    local c = t.client()
    local res = t.status(c:post("/api/session", { email = demo.email("zoe"), password = t.DEMO_PASSWORD }), 200)
    c.csrf = res.json.csrf_token
    t.advance("30s")
    local two = c:post("/api/session/2fa", { code = "123456" })
    t.eq(two.status, 500, "a ciphertext that does not open is an error, never a pass")
  end }
end)

t.test("praise, feedback, notes, comments and feedback requests are not in the database, the WAL or a backup", function()
  local P = t.demo()
  local r = canary.check{ dir = dir, write = function()
    local zoe, ethan = t.login(demo.email("mia")), t.login(demo.email("ethan")) -- Zoe uses 2-step by now
    local words = {
      praise = "Praise canary: the kettle whistles in B flat",
      feedback = "Feedback canary: seven herons over the canal",
      note = "Note canary: the attic clock runs backwards",
      comment = "Comment canary: violet umbrellas at noon",
      question = "Question canary: which lighthouse hums loudest",
      answer = "Answer canary: the ferry leaves at quarter past",
    }
    local p = t.status(zoe:post("/api/messages", { kind = "praise", text = words.praise, recipient_ids = { P.ethan.id } }), 201).json
    t.status(zoe:post("/api/messages", { kind = "feedback", text = words.feedback, recipient_ids = { P.ethan.id } }), 201)
    t.status(zoe:post("/api/messages", { kind = "note", text = words.note, about_id = P.ethan.id }), 201)
    t.status(ethan:post("/api/messages/" .. p.id .. "/comments", { text = words.comment }), 201)
    local rq = t.status(zoe:post("/api/feedback-requests", { askee_ids = { P.ethan.id }, question = words.question }), 201).json
    t.status(ethan:post("/api/feedback-requests/" .. rq.id .. "/answer", { text = words.answer }), 201)
    local list = {}
    for _, w in pairs(words) do list[#list + 1] = w end
    return list
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

t.test("swapping two messages' ciphertexts makes both fail to decrypt", function()
  local P = t.demo()
  local zoe = t.login(demo.email("mia"))
  local a = t.status(zoe:post("/api/messages", { kind = "praise", text = "first", recipient_ids = { P.ethan.id } }), 201).json
  local b = t.status(zoe:post("/api/messages", { kind = "praise", text = "second", recipient_ids = { P.ethan.id } }), 201).json
  canary.swap_check{ table = "messages", column = "text_enc", a = { a.id }, b = { b.id }, read = function()
    t.eq(zoe:get("/api/messages/" .. a.id).status, 500, "a text that does not open is an error, never another's text")
  end }
end)

t.test("objectives: titles, descriptions, key results, notes and comments are not in the database, the WAL or a backup", function()
  local P = t.demo()
  local r = canary.check{ dir = dir, write = function()
    local hr, mia = t.login(demo.email("marcus")), t.login(demo.email("mia"))
    local cycle = t.status(hr:post("/api/objective-cycles", { name = "Canary objectives", starts_on = "2026-01-01",
      ends_on = "2026-03-31", edit_until = "2026-01-31", update_until = "2026-04-15" }), 201).json
    local words = {
      title = "Objective canary: the lantern maker counts to nine",
      description = "Description canary: amber tides in the north bay",
      kr = "Key result canary: twelve cranes fold at dawn",
      unit = "unitcanaryquince",
      note = "Update canary: the bridge sings in the frost",
      comment = "Comment canary: plums ripen under the stairs",
    }
    local o = t.status(mia:post("/api/objectives", { cycle_id = cycle.id, title = words.title, description = words.description,
      visibility = "private", named_ids = { P.ravi.id }, key_results = { { kind = "number", title = words.kr, start = 1,
      target = 2, unit = words.unit } } }), 201).json
    t.status(mia:patch("/api/objectives/" .. o.id, { status = "at_risk", note = words.note }), 200)
    t.status(mia:post("/api/objectives/" .. o.id .. "/comments", { body = words.comment }), 201)
    local list = {}
    for _, w in pairs(words) do list[#list + 1] = w end
    return list
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

t.test("swapping two objectives' ciphertexts (titles, key results, comments) makes them fail to decrypt", function()
  local mia = t.login(demo.email("mia"))
  local cycle = db.value("SELECT id FROM objective_cycles WHERE name = 'Canary objectives'")
  local b = t.status(mia:post("/api/objectives", { cycle_id = cycle, title = "second", key_results = { { title = "kr two" } } }),
    201).json
  local a = db.value("SELECT min(id) FROM objectives")
  canary.swap_check{ table = "objectives", column = "title_enc", a = { a }, b = { b.id }, read = function()
    t.eq(mia:get("/api/objectives/" .. a).status, 500, "a title that does not open is an error, never another's")
  end }
  local k1, k2 = db.value("SELECT min(id) FROM objective_key_results"), db.value("SELECT max(id) FROM objective_key_results")
  canary.swap_check{ table = "objective_key_results", column = "title_enc", a = { k1 }, b = { k2 }, read = function()
    t.eq(mia:get("/api/objectives/" .. b.id).status, 500)
  end }
  t.status(mia:post("/api/objectives/" .. b.id .. "/comments", { body = "another" }), 201)
  local c1, c2 = db.value("SELECT min(id) FROM objective_comments WHERE body_enc IS NOT NULL"),
    db.value("SELECT max(id) FROM objective_comments WHERE body_enc IS NOT NULL")
  canary.swap_check{ table = "objective_comments", column = "body_enc", a = { c1 }, b = { c2 }, read = function()
    t.eq(mia:get("/api/objectives/" .. a).status, 500)
  end }
end)

t.test("clean up the temporary data folder", function()
  canary.cleanup(dir)
  t.no(io.open(dir .. "/candor.db", "rb"), "removed")
end)
