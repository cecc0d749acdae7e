-- Migration 007 on the previous version's database: every review with a manager gets the chain
-- of managers above that manager (from the reporting lines as they are), a review without a
-- manager gets none; queued mail has no sealed body yet; the import tables start empty.
return function(db, t, info)
  t.eq(info.version, 7)
  local function chain(id) return db.value("SELECT manager_chain FROM reviews WHERE id = ?", id) end
  t.eq(chain(1), "[1]", "Diego's review: Marcus writes it, Priya is above him")
  t.eq(chain(3), "[2,1]", "Hannah's review (reviewee 8): Diego writes it, Marcus and Priya above")
  t.eq(chain(4), nil, "a review without a manager has no chain")
  t.eq(chain(6), "[1]", "Hannah writes review 6, Priya is above her")
  t.eq(db.value("SELECT count(*) FROM reviews WHERE manager_chosen_by IS NOT NULL"), 0, "nobody chose a writer yet")
  t.eq(db.value("SELECT count(*) FROM outbox WHERE body_enc IS NOT NULL"), 0)
  t.eq(db.value("SELECT count(*) FROM imports"), 0)
end
