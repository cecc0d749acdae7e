-- 021: the counts per cycle and status start from the reviews already there, and the triggers keep
-- them after an insert, an update and a delete.
return function(db, t, info)
  local function total() return db.value("SELECT coalesce(sum(n), 0) FROM review_counts") end
  t.ok(info.before.reviews.count > 0, "the fixture has reviews to count")
  t.eq(total(), info.before.reviews.count)
  local r = db.row("SELECT id, self_status FROM reviews ORDER BY id LIMIT 1")
  local other = r.self_status == "submitted" and "draft" or "submitted"
  db.exec("UPDATE reviews SET self_status = ? WHERE id = ?", other, r.id)
  t.eq(db.value("SELECT sum(n) FROM review_counts WHERE self_status = ?", other),
    db.value("SELECT count(*) FROM reviews WHERE self_status = ?", other))
  db.exec("DELETE FROM reviews WHERE id = ?", r.id)
  t.eq(total(), info.before.reviews.count - 1)
end
