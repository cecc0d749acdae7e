-- The counts a 360 cycle's overview and the list of cycles show (requests per status, reviewers
-- per reviewee, reviewees per step) are kept by triggers in the transaction of every write
-- (feedback_request_counts, feedback_reviewer_counts, feedback_subject_counts), so the overview
-- reads a few rows instead of counting the cycle's requests. After each kind of change they must
-- equal a fresh count, and the pages must show the same figures a count of the requests gives.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local hr = login("marcus") -- HR Admin
local cycle

local function rows(sql, ...)
  local out = {}
  for _, r in ipairs(db.query(sql, ...)) do
    local cells = {}
    for i = 1, #r do cells[i] = tostring(r[i]) end
    out[#out + 1] = table.concat(cells, " ")
  end
  return out
end

-- the kept counts (rows above zero) against counts made now from the rows themselves
local function agrees(msg)
  t.same(rows([[SELECT cycle_id, peer, status, feedback_status, n FROM feedback_request_counts WHERE n > 0
      ORDER BY 1, 2, 3, 4]]),
    rows([[SELECT cycle_id, relationship NOT IN ('self', 'manager'), status, feedback_status, count(*)
      FROM feedback_nominations GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4]]), msg .. ": requests")
  t.same(rows([[SELECT subject_id, cycle_id, nominated, approved, proposed, declined, written
      FROM feedback_reviewer_counts WHERE nominated > 0 ORDER BY 1]]),
    rows([[SELECT subject_id, cycle_id, count(*), sum(status = 'approved'), sum(status = 'proposed'),
        sum(status = 'declined'), sum(status = 'approved' AND feedback_status = 'shared')
      FROM feedback_nominations WHERE relationship NOT IN ('self', 'manager') GROUP BY 1 ORDER BY 1]]),
    msg .. ": reviewers per reviewee")
  t.same(rows([[SELECT cycle_id, nominations_done, approved, released, n FROM feedback_subject_counts WHERE n > 0
      ORDER BY 1, 2, 3, 4]]),
    rows([[SELECT cycle_id, nominations_done_at IS NOT NULL, approved_at IS NOT NULL, released_at IS NOT NULL,
      count(*) FROM feedback_subjects GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4]]), msg .. ": reviewees")
  t.eq(db.value([[SELECT (SELECT count(*) FROM feedback_request_counts WHERE n < 0)
    + (SELECT count(*) FROM feedback_subject_counts WHERE n < 0)
    + (SELECT count(*) FROM feedback_reviewer_counts WHERE min(nominated, approved, proposed, declined, written) < 0)]]),
    0, msg .. ": never below zero")
end

local function subject_of(key)
  return db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ? AND reviewee_id = ?", cycle, P[key].id)
end
local function request_of(key, reviewer)
  return db.value("SELECT id FROM feedback_nominations WHERE subject_id = ? AND reviewer_id = ?", subject_of(key),
    P[reviewer].id)
end

t.test("starting a cycle and adding reviewees are counted", function()
  cycle = t.status(hr:post("/api/feedback/cycles", { name = "Counted 360", start_date = "2026-01-05",
    rules = { min = 0, max = 12, suggested = 3 } }), 201).json.id
  t.status(hr:post("/api/feedback/cycles/" .. cycle .. "/reviewees",
    { user_ids = { P.tyler.id, P.nina.id, P.luca.id } }), 200)
  agrees("added")
  t.status(hr:post("/api/feedback/cycles/" .. cycle .. "/start"), 200)
  agrees("started")
  t.status(hr:post("/api/feedback/cycles/" .. cycle .. "/reviewees", { user_ids = { P.maya.id } }), 200)
  agrees("added to a running cycle")
  t.eq(db.value("SELECT sum(n) FROM feedback_subject_counts WHERE cycle_id = ?", cycle), 4)
end)

t.test("nominating, approving, declining, writing, sharing and reopening move the counts", function()
  local sid = subject_of("tyler")
  for _, key in ipairs({ "nina", "freya", "luca" }) do
    t.status(hr:post("/api/feedback/360/" .. sid .. "/nominations", { reviewer_id = P[key].id }), 201)
  end
  agrees("nominated")
  t.status(hr:post("/api/feedback/approvals", { subject_ids = { sid } }), 200)
  agrees("approved")
  t.status(login("luca"):post("/api/feedback/requests/" .. request_of("tyler", "luca") .. "/decline",
    { reason = "I have not worked with Tyler." }), 200)
  agrees("declined")
  local rq = request_of("tyler", "nina")
  local nina = login("nina")
  t.status(nina:put("/api/feedback/requests/" .. rq .. "/answers", { q1 = "Clear and kind." }), 200)
  agrees("a draft")
  t.status(nina:post("/api/feedback/requests/" .. rq .. "/share"), 200)
  agrees("shared")
  t.status(hr:post("/api/feedback/requests/" .. rq .. "/reopen", { reason = "Please add an example." }), 200)
  agrees("reopened")
  t.status(hr:delete("/api/feedback/requests/" .. request_of("tyler", "freya")), 204)
  agrees("a request withdrawn")
end)

t.test("the overview, its sorts and filters and the list of cycles show what a count of the requests gives", function()
  local rq = request_of("tyler", "nina")
  t.status(login("nina"):post("/api/feedback/requests/" .. rq .. "/share"), 200)
  local ov = t.status(hr:get("/api/feedback/cycles/" .. cycle .. "/reviewees"), 200).json
  local fresh = db.row([[SELECT count(*) AS requests, sum(status = 'proposed') AS proposed,
      sum(status = 'approved') AS approved, sum(status = 'declined') AS declined,
      sum(status = 'approved' AND feedback_status = 'shared') AS written,
      sum(status = 'approved' AND feedback_status = 'draft') AS drafts
    FROM feedback_nominations WHERE cycle_id = ? AND relationship NOT IN ('self', 'manager')]], cycle)
  for _, k in ipairs({ "requests", "proposed", "approved", "declined", "written", "drafts" }) do
    t.eq(ov.totals[k], fresh[k], k)
  end
  t.eq(ov.totals.reviewees, 4)
  t.eq(ov.totals.reviewees_approved, 1)
  local by_written = t.status(hr:get("/api/feedback/cycles/" .. cycle .. "/reviewees?sort=written&order=desc"), 200).json
  t.eq(by_written.reviewees[1].subject_id, subject_of("tyler"))
  t.same({ by_written.reviewees[1].nominated, by_written.reviewees[1].approved, by_written.reviewees[1].written,
    by_written.reviewees[1].declined }, { 2, 1, 1, 1 }, "nina wrote, luca declined, freya withdrawn")
  local done = t.status(hr:get("/api/feedback/cycles/" .. cycle .. "/reviewees?status=done"), 200).json
  t.eq(#done.reviewees, 1)
  t.eq(done.total, 1)
  local listed
  for _, c in ipairs(t.status(hr:get("/api/feedback/cycles"), 200).json.cycles) do
    if c.id == cycle then listed = c end
  end
  t.ok(listed, "the cycle is listed")
  t.eq(listed.stats.requests, db.value("SELECT count(*) FROM feedback_nominations WHERE cycle_id = ? AND status = 'approved'", cycle))
  t.eq(listed.stats.written, db.value([[SELECT count(*) FROM feedback_nominations WHERE cycle_id = ?
    AND status = 'approved' AND feedback_status = 'shared']], cycle))
end)

t.test("the overview and the list of cycles read no request to count them", function()
  local read = {}
  for _, q in ipairs(t.query_plans(function()
    t.status(hr:get("/feedback/cycles/" .. cycle), 200)
    t.status(hr:get("/feedback/cycles/" .. cycle .. "?sort=written"), 200)
    t.status(hr:get("/feedback/cycles/" .. cycle .. "?status=waiting"), 200)
    t.status(hr:get("/feedback/cycles"), 200)
  end)) do
    if q.plan:find("feedback_nominations", 1, true) then read[#read + 1] = q.sql end
  end
  t.same(read, {}, "no statement reads feedback_nominations")
end)

t.test("a change that rolls back leaves the counts as they were", function()
  local before = rows("SELECT * FROM feedback_request_counts ORDER BY 1, 2, 3, 4")
  local ok = pcall(db.transaction, function()
    db.exec("UPDATE feedback_nominations SET feedback_status = 'shared' WHERE cycle_id = ?", cycle)
    db.exec("UPDATE feedback_subjects SET released_at = 1 WHERE cycle_id = ?", cycle)
    error("refused")
  end)
  t.no(ok)
  t.same(rows("SELECT * FROM feedback_request_counts ORDER BY 1, 2, 3, 4"), before)
  agrees("after the rollback")
end)

t.test("releasing early, removing a reviewee and deleting the cycle are counted", function()
  t.status(login("james"):post("/api/feedback/360/" .. subject_of("tyler") .. "/release"), 200)
  agrees("released")
  t.eq(db.value("SELECT sum(n * released) FROM feedback_subject_counts WHERE cycle_id = ?", cycle), 1)
  t.status(hr:request("DELETE", "/api/feedback/cycles/" .. cycle .. "/reviewees", { body = { user_ids = { P.tyler.id } } }),
    200)
  agrees("removed")
  t.status(hr:delete("/api/feedback/cycles/" .. cycle), 204)
  agrees("deleted")
  t.eq(db.value([[SELECT (SELECT count(*) FROM feedback_request_counts WHERE cycle_id = ?)
    + (SELECT count(*) FROM feedback_subject_counts WHERE cycle_id = ?)
    + (SELECT count(*) FROM feedback_reviewer_counts WHERE cycle_id = ?)]], cycle, cycle, cycle), 0)
end)
