-- Migration 010 (suspended workflow versions) on a version-008 database: every version keeps its
-- text and starts with no stopped runs and no suspension; the workflow engine reads them.
return function(db, t, info)
  t.eq(info.version, 10)
  t.eq(db.value("SELECT count(*) FROM workflow_versions"), info.before.workflow_versions.count)
  t.eq(db.value("SELECT count(*) FROM workflow_versions WHERE failures <> 0 OR last_failure IS NOT NULL"
    .. " OR suspended_at IS NOT NULL"), 0, "versions start with no stopped runs and no suspension")
  db.exec("UPDATE workflow_versions SET failures = failures + 1, last_failure = 'stopped' WHERE id = 2")
  t.eq(db.value("SELECT failures FROM workflow_versions WHERE id = 2"), 1)
  t.eq(db.try_exec("INSERT INTO workflow_versions(name, source, sha256, origin, created_at, failures)"
    .. " VALUES('x', 's', 'h', 'admin', 1, NULL)"), nil, "the count is never NULL")
end
