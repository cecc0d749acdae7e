-- 022 adds the pulse survey tables and changes nothing else: the response table has no user id and
-- no time; the invitation table has a flag and no time.
return function(db, t)
  local cols = {}
  for _, c in ipairs(db.query("PRAGMA table_info(survey_responses)")) do cols[#cols + 1] = c.name end
  t.same(cols, { "id", "round_id", "answers", "comment_enc", "department", "location", "manager_ids" })
  t.eq(db.value("SELECT count(*) FROM surveys"), 0)
  t.ok(db.value("SELECT count(*) FROM review_counts") > 0, "the fixture's counts are still there")
end
