-- 028 rebuilds imports so that an import may come from the SFTP feed; every import and the people
-- each created stay, and the imports still cascade to their people.
return {
  check = function(db, t)
    t.eq(db.value("SELECT count(*) FROM import_people"), 2, "the people the imports created stay")
    t.eq(db.value("SELECT csv FROM imports WHERE id = 3"), 'email,name\n"zoë@northwind.example","Zoë ""Z"" Müller"\n')
    db.exec([[INSERT INTO imports(created_by, actor_label, via, status, csv, created_at, updated_at)
      VALUES(2, 'SFTP import', 'sftp', 'running', 'email', 1, 1)]])
    t.raises(function()
      db.exec([[INSERT INTO imports(created_by, actor_label, via, status, csv, created_at, updated_at)
        VALUES(2, 'x', 'ftp', 'running', 'email', 1, 1)]])
    end)
    db.exec("DELETE FROM imports WHERE id = 1")
    t.eq(db.value("SELECT count(*) FROM import_people"), 0, "deleting an import still removes its people")
    t.eq(db.value("SELECT count(*) FROM feed_runs"), 0)
  end,
}
