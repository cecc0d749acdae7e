-- The reasons HR types — reopening a review, reopening 360 feedback, unveiling the writer of an
-- anonymous praise — are encrypted at rest (services/reasons.lua): not in the database file, its
-- WAL or a backup; the history and audit entries keep only their id. The audit log (page and
-- API) shows the words to those who read it, as before (HR Admins and Tech Admins); nobody else
-- reads them, and the review and 360 pages and API do not show them (they did not before either).
-- A key rotation re-encrypts them like every other encrypted column.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"
local crypto = require "core.crypto"
local keys = require "services.keys"
local reasons = require "services.reasons"
local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "canary_lib.lua")

local dir = canary.file_backed()
local P = t.demo()

local REVIEW = "the goals of the lighthouse project were left out"
local FEEDBACK = "a colleague named the orchard team by mistake"
local UNVEIL = "the praise mocked the night shift, twice"

local review, request, message

local function as(key) return t.login(demo.email(key) or key) end

t.test("the reasons typed through the API are not in the database file, its WAL or a backup", function()
  demo.sample_cycle()
  demo.sample_360()
  local r = canary.check{ dir = dir, write = function()
    local hr = as("priya")
    review = db.row("SELECT * FROM reviews WHERE manager_status = 'shared' AND closed_at IS NULL ORDER BY id")
    t.status(hr:post("/api/reviews/" .. review.id .. "/reopen", { reason = REVIEW, part = "manager" }), 200)
    request = db.value("SELECT id FROM feedback_nominations WHERE feedback_status = 'shared' ORDER BY id")
    t.status(hr:post("/api/feedback/requests/" .. request .. "/reopen", { reason = FEEDBACK }), 200)
    t.status(as("marcus"):put("/api/message-defaults", { praise = { anonymity = "possible" } }), 200)
    message = t.status(as("lucas"):post("/api/messages", { kind = "praise", recipient_ids = { P.zoe.id },
      text = "Thanks for the night shift", anonymous = true }), 201).json.id
    t.status(hr:post("/api/messages/" .. message .. "/unveil", { reason = UNVEIL }), 200)
    return { REVIEW, FEEDBACK, UNVEIL }
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

t.test("the history and the audit entries keep the reason's id, never its words", function()
  local ev = json.decode(db.value("SELECT details FROM review_events WHERE review_id = ? AND action = 'reopened'", review.id))
  t.eq(ev.reason, nil)
  t.eq(reasons.open(ev.reason_id), REVIEW)
  t.eq(ev.part, "manager")
  local fe = json.decode(db.value("SELECT details FROM feedback_events WHERE request_id = ? AND action = 'feedback.reopened'",
    request))
  t.eq(reasons.open(fe.reason_id), FEEDBACK)
  for action, words in pairs({ ["review.reopen"] = REVIEW, ["feedback.reopen"] = FEEDBACK, ["message.unveiled"] = UNVEIL }) do
    local d = json.decode(db.value("SELECT details FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1", action))
    t.eq(d.reason, nil, action)
    t.eq(reasons.open(d.reason_id), words, action)
  end
  t.ok(require("services.audit").verify(), "the audit chain verifies")
end)

t.test("the audit log shows the words to HR Admins; Tech Admins see that a reason was given, not its words", function()
  for action, words in pairs({ ["review.reopen"] = REVIEW, ["feedback.reopen"] = FEEDBACK, ["message.unveiled"] = UNVEIL }) do
    local e = t.status(as("marcus"):get("/api/audit?action=" .. action), 200).json.entries[1] -- an HR Admin
    t.eq(e.details.reason, words, "an HR Admin reads " .. action)
    t.eq(e.details.reason_id, nil, "the id is not shown")
    e = t.status(as("tom"):get("/api/audit?action=" .. action), 200).json.entries[1] -- a Tech Admin
    t.eq(e.details.reason, nil, "a Tech Admin does not read " .. action)
    t.eq(e.details.reason_hidden, true, "a Tech Admin sees that a reason was given")
    t.eq(e.details.reason_id, nil)
  end
  t.contains(t.status(as("marcus"):get("/admin/audit?action=review.reopen"), 200).body, REVIEW, "on the page too")
  local page = t.status(as("tom"):get("/admin/audit?action=review.reopen"), 200).body
  t.not_contains(page, REVIEW)
  t.contains(page, "(given; only HR Admins read it)", "the page says a reason was given")
  local e = t.status(as("marcus"):get("/api/audit?action=review.reopen"), 200).json.entries[1]
  t.eq(e.details.part, "manager", "the other details as they were")
  t.eq(e.details.reviewee_id, review.reviewee_id)
end)

t.test("nobody else reads them: not an HR Assistant, not the people in the review or the 360", function()
  for _, who in ipairs({ "lena", "zoe" }) do -- an HR Assistant; an employee
    t.status(as(who):get("/api/audit"), 403)
    t.status(as(who):get("/admin/audit"), 403)
  end
  local reviewee = t.login(db.value("SELECT email FROM users WHERE id = ?", review.reviewee_id))
  local manager = t.login(db.value("SELECT email FROM users WHERE id = ?", review.manager_id))
  for _, c in ipairs({ reviewee, manager, as("priya") }) do
    t.not_contains(t.status(c:get("/api/reviews/" .. review.id), 200).body, REVIEW)
    t.not_contains(t.status(c:get("/reviews/" .. review.id), 200).body, REVIEW)
  end
  local subject = db.value("SELECT subject_id FROM feedback_nominations WHERE id = ?", request)
  local hr_page = t.status(as("priya"):get("/feedback/360/" .. subject), 200)
  t.not_contains(hr_page.body, FEEDBACK)
end)

t.test("each is bound to its row: swapped ciphertexts do not open", function()
  local ids = db.column("SELECT id FROM sealed_reasons ORDER BY id")
  t.eq(#ids, 3)
  canary.swap_check{ table = "sealed_reasons", column = "text_enc", a = { ids[1] }, b = { ids[2] } }
end)

t.test("a key rotation re-encrypts them under the new key; the audit log still shows them", function()
  local before = db.column("SELECT text_enc FROM sealed_reasons ORDER BY id")
  local res = keys.rotate{ key_file = dir .. "/master.key", wait_ms = 0 }
  local after = db.query("SELECT id, text_enc FROM sealed_reasons ORDER BY id")
  for i, r in ipairs(after) do
    t.eq(crypto.key_of(r.text_enc), res.key, "sealed with the new key")
    t.ok(r.text_enc ~= before[i], "re-encrypted")
  end
  t.eq(keys.stale(({ table = "sealed_reasons", column = "text_enc", key = { "id" } }), res.key), 0)
  t.eq(t.status(as("marcus"):get("/api/audit?action=feedback.reopen"), 200).json.entries[1].details.reason, FEEDBACK)
end)

t.test("clean up", function() canary.cleanup(dir) end)
