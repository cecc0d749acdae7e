-- 026 renames the setting notifications.send_hour_utc to notifications.send_hour, keeping its value.
return {
  values_change = { settings = { "key" } },
  check = function(db, t, info)
    local before
    for _, r in ipairs(info.before.settings.rows) do
      if r.key == "notifications.send_hour_utc" then before = r end
    end
    t.ok(before, "the fixture sets the send hour under its old name")
    t.eq(db.value("SELECT count(*) FROM settings WHERE key = 'notifications.send_hour_utc'"), 0)
    local r = db.row("SELECT value, updated_at, updated_by FROM settings WHERE key = 'notifications.send_hour'")
    t.same({ r.value, r.updated_at, r.updated_by }, { before.value, before.updated_at, before.updated_by })
  end,
}
