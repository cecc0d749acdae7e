-- The audit log filtered by action on a big log: the entries of each action are counted as they
-- are written (audit_action_counts, by a trigger: the log is append-only), and a page of them is
-- read newest first through the index on (action, id), so the page neither counts nor sorts every
-- entry of the action. The answers must be what SQL gives over the log itself.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local audit = require "services.audit"

t.demo()
local tom = t.login(demo.email("tom")) -- Tech Admin: reads the log

-- many entries of a few actions, interleaved, as a year of use leaves them
db.transaction(function()
  for i = 1, 300 do
    audit.record{ action = (i % 3 == 0) and "zz.kept.rare" or "zz.kept.common", actor_label = "Script " .. i,
      target_type = "user", target_id = i % 7, target_label = "Target " .. (i % 7) }
  end
end)

local function fresh(where, ...)
  return db.column("SELECT id FROM audit_log WHERE " .. where .. " ORDER BY id DESC", ...)
end
local function ids(res)
  local out = {}
  for i, e in ipairs(res.entries) do out[i] = e.id end
  return out
end

t.test("the kept counts are those of the log, and follow every new entry", function()
  t.same(db.query("SELECT action, n FROM audit_action_counts ORDER BY action"),
    db.query("SELECT action, count(*) AS n FROM audit_log GROUP BY action ORDER BY action"))
  t.status(tom:delete("/api/session"), 204)
  tom = t.login(demo.email("tom"))
  t.same(db.query("SELECT action, n FROM audit_action_counts ORDER BY action"),
    db.query("SELECT action, count(*) AS n FROM audit_log GROUP BY action ORDER BY action"), "after signing out and in")
end)

t.test("filtered by an action, by the actions under a name, and with another filter: totals and pages as SQL says", function()
  for _, case in ipairs({
    { "action=zz.kept.common", "action = 'zz.kept.common'" },
    { "action=zz.kept", "action LIKE 'zz.kept.%'" },
    { "action=zz.kept&target=Target%203", "action LIKE 'zz.kept.%' AND target_label LIKE '%Target 3%'" },
    { "action=zz.kept.rare&actor=Script%2099", "action = 'zz.kept.rare' AND actor_label LIKE '%Script 99%'" },
    { "action=zz", "action LIKE 'zz.%'" },
  }) do
    local all = fresh(case[2])
    local got = {}
    local first = t.status(tom:get("/api/audit?per_page=40&" .. case[1]), 200).json
    t.eq(first.total, #all, case[1] .. ": total")
    t.eq(first.pages, math.max(1, (#all + 39) // 40), case[1] .. ": pages")
    for pg = 1, first.pages do
      for _, id in ipairs(ids(t.status(tom:get("/api/audit?per_page=40&page=" .. pg .. "&" .. case[1]), 200).json)) do
        got[#got + 1] = id
      end
    end
    t.same(got, all, case[1] .. ": every entry once, newest first")
  end
  t.same(t.status(tom:get("/api/audit?action=zz.nothing"), 200).json.total, 0, "an action nobody did")
  t.contains(t.status(tom:get("/admin/audit"), 200).body, "zz.kept.rare", "the filter's choices come from the counts")
end)

t.test("a page of one action reads a page through the index: no scan of the log, no sort of its entries", function()
  for _, path in ipairs({ "/api/audit?action=zz.kept.common", "/api/audit?action=zz.kept&page=2",
    "/admin/audit?action=zz.kept.rare", "/admin/audit" }) do
    local plans = t.query_plans(function() t.status(tom:get(path), 200) end)
    for _, q in ipairs(plans) do
      if q.sql:find("audit_log", 1, true) then
        if path:find("action=", 1, true) then -- (unfiltered, the newest are the last rows: read backwards)
          t.not_contains(q.plan, "SCAN audit_log", path .. ": " .. q.sql:sub(1, 70))
        end
        t.not_contains(q.plan, "TEMP B-TREE FOR ORDER BY", path .. ": " .. q.sql:sub(1, 70))
        t.no(q.sql:find("count(*)", 1, true), path .. ": counts no entry: " .. q.sql:sub(1, 70))
      end
    end
  end
end)
