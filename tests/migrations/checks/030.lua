-- 030 adds sealed_reasons and asks the next start to seal the reasons earlier versions kept in
-- plain text (reasons_to_seal): a migration is SQL and cannot encrypt. The check runs that start
-- step (services/reasons.lua seal_stored, which app.init runs after the migrations) on the
-- version-029 fixture: afterwards the words are in no table, still read through the service, the
-- audit chain verifies, codes that are not typed stay, and a second run changes nothing.
local reasons = require "services.reasons"
local audit = require "services.audit"
local json = require "lib.json"

local TYPED = {
  review = "Signed by mistake – Diego’s goals were missing",
  feedback = 'Sam asked to add the "Q1" launch; O\'Brien agreed',
  praise = "Reported as abusive: the praise insulted the team",
}

-- Every table.column holding the text (any row, any column).
local function found(db, text)
  local out = {}
  for _, tbl in ipairs(db.column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) do
    for _, row in ipairs(db.query('SELECT * FROM "' .. tbl .. '"')) do
      for col, v in pairs(row) do
        if type(v) == "string" and v:find(text, 1, true) then out[#out + 1] = tbl .. "." .. col end
      end
    end
  end
  table.sort(out)
  return out
end

return function(db, t)
  t.eq(db.value("SELECT count(*) FROM sealed_reasons"), 0)
  t.eq(db.value("SELECT count(*) FROM reasons_to_seal"), 1, "the next start is asked to seal")
  t.same(found(db, TYPED.review), { "audit_log.details", "review_events.details" }, "in plain text before")
  local ok_before, n_before = audit.verify()
  t.ok(ok_before, "the fixture's chain verifies")

  t.eq(reasons.seal_stored(), 5, "one review event, one 360 event, three audit entries")
  for what, text in pairs(TYPED) do
    t.same(found(db, text), {}, what .. " reason in plain text after sealing")
  end
  t.eq(db.value("SELECT count(*) FROM reasons_to_seal"), 0, "done once")

  -- still read through the service, where they were
  local function words(tbl, id)
    local d = json.decode(db.value("SELECT details FROM " .. tbl .. " WHERE id = ?", id))
    t.eq(d.reason, nil, tbl .. " " .. id .. " keeps no words")
    d.reason, d.reason_id = reasons.open(d.reason_id), nil
    return d
  end
  local rv = words("review_events", 4)
  t.eq(rv.reason, TYPED.review)
  t.eq(words("feedback_events", 1).reason, TYPED.feedback)
  local a10 = words("audit_log", 10)
  t.eq(a10.reason, TYPED.review)
  t.eq(a10.part, "manager", "the other details stay")
  t.eq(a10.cycle_id, 1)
  t.eq(words("audit_log", 11).reason, TYPED.feedback)
  local a12 = words("audit_log", 12)
  t.eq(a12.reason, TYPED.praise)
  t.eq(a12.writer_id, 5)
  -- reasons that are codes or not typed by a person stay as they were
  t.eq(db.value("SELECT details FROM audit_log WHERE id = 13"), '{"reason":"password"}')
  t.eq(db.value("SELECT details FROM review_events WHERE id = 2"), '{"reason":"left the company"}')
  t.eq(db.value("SELECT details FROM feedback_events WHERE id = 2"), "{}")

  -- the chain verifies, rehashed from the first rewritten entry; an entry says so
  local ok, n = audit.verify()
  t.ok(ok, "the audit chain verifies after sealing")
  t.eq(n, n_before + 1)
  t.eq(db.value("SELECT hash FROM audit_log WHERE id = 9"),
    "a0f0c03f0ed9e226c87557e5934065de0e7e7705769c1eaf309156105df09f83", "entries before the first one keep their hash")
  local note = db.row("SELECT * FROM audit_log ORDER BY id DESC LIMIT 1")
  t.eq(note.action, "audit.reasons_sealed")
  t.same(json.decode(note.details), { entries = 3, rehashed = 4 })
  t.raises(function() db.exec("UPDATE audit_log SET details = '{}' WHERE id = 1") end, nil,
    "the audit log is append-only again")

  -- safe to run again: nothing to do
  local snapshot = db.query("SELECT id, details, hash FROM audit_log ORDER BY id")
  t.eq(reasons.seal_stored(), nil)
  t.same(db.query("SELECT id, details, hash FROM audit_log ORDER BY id"), snapshot)
  t.eq(db.value("SELECT count(*) FROM sealed_reasons"), 5)
end
