-- A step to a whole cycle (the start's invitations, a dated reminder) never holds the event loop
-- for long: it reads the cycle's items a page per transaction (workflows.PAGE), works out the
-- recipients outside any transaction with pauses for the loop (workflows.pacer, every
-- workflows.SLICE_MS), then queues the mails in slices (tests/scenarios/workflows/slices.lua). At
-- 10,000 reviewees reading them and working out the recipients in one go held the loop ~80 ms.
-- Here pages of 2 reviews. The clock starts on Monday 2026-01-05 09:00 UTC.
local t = require "testing"
local F = dofile("tests/scenarios/workflows/_fixtures.lua")
local wf = require "services.workflows"
local db = require "lib.db"
local clock = require "core.clock"
local timer = require "core.timer"

local P = t.demo()
local saved = { page = wf.PAGE, slice = wf.SLICE_MS }
local kind = wf.kinds.performance_review
local review_item = kind.items.review

-- Zoe before Ethan (both Lucas's reports): the pages come by id, the names in Lucas's mail must
-- still be in name order.
local function cycle_of(name, people)
  local c = F.cycle({ name = name, start_date = "2026-01-05", self_due = "2026-01-19", manager_due = "2026-02-02",
    sign_due = "2026-02-16" })
  for _, p in ipairs(people) do
    db.insert("INSERT INTO reviews(cycle_id, reviewee_id, manager_id, created_at, updated_at) VALUES(?,?,?,?,?)",
      c.id, p.id, p.manager_id, clock.now(), clock.now())
  end
  db.transaction(function() wf.start(c, P.marcus) end)
  return c
end

-- Runs fn with the review item's page() watched: returns the calls, each { after =, depth = }.
local function watching_pages(fn, on_page)
  local real, calls = review_item.page, {}
  review_item.page = function(c, after, limit)
    calls[#calls + 1] = { after = after, depth = db.depth(), limit = limit, cycle_id = c.id }
    if on_page then on_page(#calls, c) end
    return real(c, after, limit)
  end
  local ok, err = pcall(fn)
  review_item.page = real
  wf.PAGE, wf.SLICE_MS = saved.page, saved.slice
  if not ok then error(err, 0) end
  return calls
end

local people = { P.zoe, P.ethan, P.omar, P.mia, P.hana }
local cycle = cycle_of("Paged reviews", people)

t.test("the start's invitations read the reviews two at a time, each page in a transaction of its own", function()
  wf.PAGE = 2
  local calls = watching_pages(function() t.run_jobs() end)
  local ids = db.column("SELECT id FROM reviews WHERE cycle_id = ? ORDER BY id", cycle.id)
  local afters = {}
  for _, c in ipairs(calls) do
    afters[#afters + 1] = c.after
    t.eq(c.depth, 1, "a page is read in a transaction of its own, not inside a longer one")
    t.eq(c.limit, 2)
  end
  -- two steps on the start (the reviewees' invitations, their managers' mail): each reads 2, 2, 1
  t.same(afters, { 0, ids[2], ids[4], 0, ids[2], ids[4] }, "pages by id, each after the last one read")
  t.same(F.to("review.invite", 0, cycle.id), F.emails(table.unpack(people)), "every reviewee invited once")
end)

t.test("a mail per review goes out page by page: the step never holds a whole big cycle at once", function()
  local c = cycle_of("Streamed reviews", people)
  wf.PAGE = 2
  local invited = {} -- invitations of the cycle queued when each page was read
  watching_pages(function() t.run_jobs() end, function(_, row)
    if row.id == c.id then invited[#invited + 1] = #F.to("review.invite", 0, c.id) end
  end)
  local seen = {}
  for _, k in ipairs(invited) do seen[k] = true end
  t.ok(seen[2] and seen[4], "the first page's invitations were queued before the second page was read: "
    .. table.concat(invited, ", "))
  t.same(F.to("review.invite", 0, c.id), F.emails(table.unpack(people)), "everyone once")
end)

t.test("the managers' mail names their reports in name order though the pages come by id", function()
  local mails = {}
  for _, m in ipairs(t.outbox({ template = "review.manager_started", to = P.lucas.email })) do
    if m.related_id == cycle.id then mails[#mails + 1] = m end
  end
  t.eq(#mails, 1, "one mail to Lucas for both his reports")
  t.ok(mails[1].subject:find("Ethan Brooks, Zoe Chen", 1, true), "in name order: " .. mails[1].subject)
end)

t.test("a dated reminder reads in pages too, and reaches each late reviewee once", function()
  local before = F.mark()
  F.set({ id = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.mia.id) },
    { self_status = "submitted" })
  wf.PAGE = 2
  local calls, mine = watching_pages(function() t.advance_to("2026-01-16T09:00:00Z") end), 0
  for _, c in ipairs(calls) do
    if c.cycle_id == cycle.id then mine = mine + 1 end
  end
  t.eq(mine, 3, "five reviews in pages of two")
  t.same(F.to("review.self_reminder", before, cycle.id), F.emails(P.zoe, P.ethan, P.omar, P.hana),
    "Mia submitted: no reminder for her")
end)

t.test("working out the recipients pauses for the event loop, never inside a transaction", function()
  local c = cycle_of("Paced reviews", people)
  local group = kind.groups.reviewees
  local real_recipients, real_yield = group.recipients, timer.yield
  local inside, pauses, depths = false, 0, {}
  group.recipients = function(...)
    inside = true
    local out = table.pack(real_recipients(...))
    inside = false
    return table.unpack(out, 1, out.n)
  end
  timer.yield = function()
    if inside then
      pauses = pauses + 1
      depths[db.depth()] = true
    end
  end
  wf.SLICE_MS = 0 -- pause at every chance
  local ok, err = pcall(t.run_jobs)
  group.recipients, timer.yield, wf.SLICE_MS = real_recipients, real_yield, saved.slice
  assert(ok, err)
  t.ok(pauses >= #people, ("a pause per reviewee at least while their invitations were worked out (%d)"):format(pauses))
  t.same(depths, { [0] = true }, "every pause outside any transaction")
  t.same(F.to("review.invite", 0, c.id), F.emails(table.unpack(people)))
end)

t.test("the pacer pauses once SLICE_MS went by, and never inside a transaction", function()
  local real_yield, pauses = timer.yield, 0
  timer.yield = function() pauses = pauses + 1 end
  wf.SLICE_MS = 0
  local pace = wf.pacer()
  local ok, err = pcall(function()
    pace()
    db.transaction(function() pace() end)
    pace()
  end)
  timer.yield, wf.SLICE_MS = real_yield, saved.slice
  assert(ok, err)
  t.eq(pauses, 2, "the call inside the transaction did not pause")
  wf.SLICE_MS = 60000
  pauses = 0
  timer.yield = function() pauses = pauses + 1 end
  local slow = wf.pacer()
  slow()
  timer.yield, wf.SLICE_MS = real_yield, saved.slice
  t.eq(pauses, 0, "no pause before SLICE_MS went by")
end)

t.test("a cycle closed while its pages are read gets no mail from the step", function()
  local c = cycle_of("Closed while reading", people)
  wf.PAGE = 2
  local calls = watching_pages(function() t.run_jobs() end, function(n, row)
    if n == 2 and row.id == c.id then db.exec("UPDATE cycles SET phase = 'closed' WHERE id = ?", c.id) end
  end)
  t.ok(#calls >= 2)
  t.same(F.to("review.invite", 0, c.id), {}, "nothing queued: the cycle closed before the last page")
end)

t.test("a page is a range of an index on the cycle, for every kind that reads in pages", function()
  local checked = 0
  for name, k in pairs(wf.kinds) do
    for item_name, item in pairs(k.items) do
      if item.page then
        local real, sql = db.query, nil
        db.query = function(q, ...)
          sql = sql or q
          return real(q, ...)
        end
        local ok, err = pcall(item.page, { id = 1 }, 0, 10)
        db.query = real
        assert(ok, err)
        local plan = {}
        for _, r in ipairs(db.query("EXPLAIN QUERY PLAN " .. sql, 1, 0, 10)) do plan[#plan + 1] = r.detail end
        plan = table.concat(plan, "\n")
        t.ok(plan:find("USING [%w ]*INDEX %S+ %(cycle_id=%? AND rowid>%?%)"), ("%s %s: %s"):format(name, item_name, plan))
        t.not_contains(plan, "TEMP B-TREE", name .. " " .. item_name .. ": no sort")
        checked = checked + 1
      end
    end
  end
  t.ok(checked >= 3, "reviews, 360 subjects and requests read in pages")
end)
