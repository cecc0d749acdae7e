-- 027 adds counts kept by triggers (feedback_request_counts, feedback_reviewer_counts,
-- feedback_subject_counts, outbox_counts, audit_action_counts), filled from the rows already
-- there: each must equal a count made from those rows, and go on agreeing after writes.
local function rows(db, sql)
  local out = {}
  for _, r in ipairs(db.query(sql)) do
    local cells = {}
    for i, v in ipairs(r) do cells[i] = tostring(v) end
    local keys = {}
    for k in pairs(r) do if type(k) == "string" then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do cells[#cells + 1] = k .. "=" .. tostring(r[k]) end
    out[#out + 1] = table.concat(cells, " ")
  end
  return out
end

local KEPT = {
  { "feedback_request_counts",
    "SELECT cycle_id, peer, status, feedback_status, n FROM feedback_request_counts WHERE n > 0 ORDER BY 1, 2, 3, 4",
    [[SELECT cycle_id, relationship NOT IN ('self', 'manager') AS peer, status, feedback_status, count(*) AS n
      FROM feedback_nominations GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4]] },
  { "feedback_reviewer_counts",
    [[SELECT subject_id, cycle_id, nominated, approved, proposed, declined, written FROM feedback_reviewer_counts
      WHERE nominated > 0 ORDER BY 1]],
    [[SELECT subject_id, cycle_id, count(*) AS nominated, sum(status = 'approved') AS approved,
        sum(status = 'proposed') AS proposed, sum(status = 'declined') AS declined,
        sum(status = 'approved' AND feedback_status = 'shared') AS written
      FROM feedback_nominations WHERE relationship NOT IN ('self', 'manager') GROUP BY 1, 2 ORDER BY 1]] },
  { "feedback_subject_counts",
    [[SELECT cycle_id, nominations_done, approved, released, n FROM feedback_subject_counts WHERE n > 0
      ORDER BY 1, 2, 3, 4]],
    [[SELECT cycle_id, nominations_done_at IS NOT NULL AS nominations_done, approved_at IS NOT NULL AS approved,
        released_at IS NOT NULL AS released, count(*) AS n FROM feedback_subjects GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4]] },
  { "outbox_counts", "SELECT status, n FROM outbox_counts WHERE n > 0 ORDER BY 1",
    "SELECT status, count(*) AS n FROM outbox GROUP BY 1 ORDER BY 1" },
  { "audit_action_counts", "SELECT action, n FROM audit_action_counts ORDER BY 1",
    "SELECT action, count(*) AS n FROM audit_log GROUP BY 1 ORDER BY 1" },
}

return function(db, t, info)
  local function agrees(when)
    for _, k in ipairs(KEPT) do
      local kept = rows(db, k[2])
      t.ok(#kept > 0, k[1] .. " counts the fixture's rows")
      t.same(kept, rows(db, k[3]), k[1] .. " " .. when)
    end
  end
  t.eq(info.before.feedback_nominations.count, 17)
  t.ok(db.value("SELECT count(DISTINCT status) FROM outbox") >= 2, "the fixture's mails stand at several statuses")
  agrees("after the migration")
  -- the triggers keep them from now on
  db.exec("UPDATE feedback_nominations SET status = 'approved', approved_at = 1 WHERE id = 9")
  db.exec("UPDATE feedback_nominations SET feedback_status = 'shared' WHERE id = 15")
  db.exec("UPDATE feedback_subjects SET approved_at = 2 WHERE id = 4")
  db.exec("DELETE FROM feedback_subjects WHERE id = 6")
  db.exec("UPDATE outbox SET status = 'failed' WHERE id = (SELECT min(id) FROM outbox)")
  agrees("after writes")
  db.exec("DELETE FROM feedback_cycles WHERE id = 1")
  t.eq(db.value("SELECT count(*) FROM feedback_request_counts WHERE cycle_id = 1"), 0, "a deleted cycle's counts go")
  t.eq(db.value("SELECT count(*) FROM feedback_subject_counts WHERE cycle_id = 1"), 0)
  t.eq(db.value("SELECT count(*) FROM feedback_reviewer_counts WHERE cycle_id = 1"), 0)
end
