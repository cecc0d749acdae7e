-- The counts of reviews per cycle and status (review_counts) that the HR home page and the cycle
-- overview read instead of counting the whole cycle: kept by triggers in the transaction of every
-- write to reviews. After each kind of change they must equal a fresh count of the reviews.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local hr = t.login(demo.email("marcus")) -- HR Admin

-- the kept counts (rows with n > 0) against a count made now from the reviews themselves
local function agrees(msg)
  local function rows(sql)
    local out = {}
    for _, r in ipairs(db.query(sql)) do
      out[#out + 1] = table.concat({ r.cycle_id, r.self_status, r.manager_status, r.has_writer, r.reviewee_signed,
        r.manager_signed, r.closed, r.n }, " ")
    end
    return out
  end
  local kept = rows([[SELECT * FROM review_counts WHERE n > 0 ORDER BY 1, 2, 3, 4, 5, 6, 7]])
  local fresh = rows([[SELECT cycle_id, self_status, manager_status, manager_id IS NOT NULL AS has_writer,
      reviewee_signed_at IS NOT NULL AS reviewee_signed, manager_signed_at IS NOT NULL AS manager_signed,
      closed_at IS NOT NULL AS closed, count(*) AS n FROM reviews GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7]])
  t.same(kept, fresh, msg)
  t.eq(db.value("SELECT count(*) FROM review_counts WHERE n < 0"), 0, "never below zero")
end

local cycle, ids
local function review_of(person) return db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle, person) end

t.test("adding reviewees and starting the cycle are counted", function()
  local res = hr:post("/api/cycles", { name = "Counted round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" })
  t.status(res, 201)
  cycle = res.json.id
  ids = { P.lucas.id, P.mia.id, P.omar.id, P.ethan.id, P.zoe.id }
  t.status(hr:post("/api/cycles/" .. cycle .. "/reviewees", { user_ids = ids }), 200)
  agrees("after adding")
  t.status(hr:post("/api/cycles/" .. cycle .. "/start"), 200)
  agrees("after the start")
  t.eq(db.value("SELECT sum(n) FROM review_counts WHERE cycle_id = ?", cycle), 5)
end)

t.test("submitting, sharing, signing and reopening move the counts", function()
  local id = review_of(P.mia.id)
  db.exec("UPDATE reviews SET self_status = 'submitted', self_submitted_at = 1 WHERE id = ?", id)
  agrees("submitted")
  db.exec("UPDATE reviews SET manager_status = 'shared', shared_at = 1 WHERE id = ?", id)
  agrees("shared")
  db.exec("UPDATE reviews SET reviewee_signed_at = 2, manager_signed_at = 2, closed_at = 2 WHERE id = ?", id)
  agrees("signed by both")
  local overview = hr:get("/api/cycles/" .. cycle)
  t.status(overview, 200)
  t.status(hr:post("/api/reviews/" .. id .. "/reopen", { reason = "Calibration" }), 200)
  agrees("reopened through the API")
  t.eq(db.value("SELECT closed_at FROM reviews WHERE id = ?", id), nil)
end)

t.test("the overview's and the home page's figures come from the kept counts", function()
  local id = review_of(P.omar.id)
  db.exec("UPDATE reviews SET self_status = 'submitted', self_submitted_at = 1 WHERE id = ?", id)
  local page = hr:get("/cycles/" .. cycle)
  t.status(page, 200)
  local stats = require("services.cycles").overview(require("services.sessions").load_user(P.marcus.id), cycle).totals
  t.eq(stats.total, 5)
  t.eq(stats.self_done, db.value("SELECT count(*) FROM reviews WHERE cycle_id = ? AND self_status = 'submitted'", cycle))
  local running = require("services.dashboard").running_cycles()
  local mine
  for _, c in ipairs(running) do if c.id == cycle then mine = c end end
  t.eq(mine.total, 5)
  t.eq(mine.self_done, stats.self_done)
end)

t.test("a change that rolls back leaves the counts as they were", function()
  local before = db.query("SELECT * FROM review_counts ORDER BY 1, 2, 3, 4, 5, 6, 7")
  local ok = pcall(db.transaction, function()
    db.exec("UPDATE reviews SET manager_status = 'shared' WHERE cycle_id = ?", cycle)
    db.exec("DELETE FROM reviews WHERE id = ?", review_of(P.zoe.id))
    error("refused")
  end)
  t.no(ok)
  t.same(db.query("SELECT * FROM review_counts ORDER BY 1, 2, 3, 4, 5, 6, 7"), before)
  agrees("after the rollback")
end)

t.test("a writer taken away and a review removed are counted", function()
  db.exec("UPDATE reviews SET manager_id = NULL WHERE id = ?", review_of(P.ethan.id))
  agrees("no writer")
  db.exec("DELETE FROM reviews WHERE id = ?", review_of(P.ethan.id))
  agrees("removed")
  t.eq(db.value("SELECT sum(n) FROM review_counts WHERE cycle_id = ?", cycle), 4)
end)

t.test("deleting a cycle takes its counts with it", function()
  t.status(hr:delete("/api/cycles/" .. cycle), 204)
  t.eq(db.value("SELECT count(*) FROM review_counts WHERE cycle_id = ?", cycle), 0)
  agrees("after the delete")
end)

t.test("the directory's filter choices follow a change of department at once", function()
  t.not_contains(hr:get("/people").body, "<option>Quantum Research</option>")
  t.status(hr:patch("/api/users/" .. P.zoe.id, { department = "Quantum Research" }), 200)
  t.contains(hr:get("/people?per_page=1").body, "<option>Quantum Research</option>",
    "the kept choices are dropped by the write to users")
end)

t.test("the HR home page costs the same number of queries for a bigger cycle", function()
  local res = hr:post("/api/cycles", { name = "Big round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" })
  local c = res.json.id
  t.status(hr:post("/api/cycles/" .. c .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.status(hr:post("/api/cycles/" .. c .. "/start"), 200)
  local function cost()
    t.status(hr:get("/home"), 200)
    return t.count_queries(function() t.status(hr:get("/home"), 200) end)
  end
  local small = cost()
  local all = db.column("SELECT id FROM users WHERE kind = 'employee' AND id <> ?", P.mia.id)
  t.status(hr:post("/api/cycles", { name = "Bigger round", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }), 201)
  local big = db.value("SELECT max(id) FROM cycles")
  t.status(hr:post("/api/cycles/" .. big .. "/reviewees", { user_ids = all }), 200)
  t.status(hr:post("/api/cycles/" .. c .. "/reviewees", { user_ids = all }), 200)
  t.eq(cost(), small)
  agrees("after adding many")
end)
