-- Searching a cycle's list compares the titles of what the viewer may read; titles are sealed in
-- the database, so the list keeps them opened in memory (objective_views.searchable): a second
-- search opens no title and reads no objective but its page. What is kept must never show an old
-- title, a deleted objective, or an objective to someone who may not read it: each change counts
-- on the very next search.
local t = require "testing"
local db = require "lib.db"
local crypt = require "lib.crypt"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

t.demo()
local q1 = H.cycle()

local function finds(key, words)
  local out = {}
  for id in pairs(H.listed(key, q1.id, "&q=" .. words:gsub(" ", "%%20"))) do out[#out + 1] = id end
  table.sort(out)
  return out
end

local harbour = H.objective("zoe", q1, { title = "Chart the harbour" })
local beacon = H.objective("mia", q1, { title = "Light the beacon" })

t.test("a search finds titles and owners' names without regard to case or accents", function()
  t.same(finds("marcus", "HARBOUR"), { harbour.id })
  t.same(finds("marcus", "beacon"), { beacon.id })
  t.ok(#finds("marcus", "zoe") >= 1, "by the owner's name (Zoë)")
end)

t.test("a second search opens no title and reads no objective but those of its page", function()
  local c = H.as("marcus")
  local path = "/api/objective-cycles/" .. q1.id .. "/objectives?q=harbour"
  t.status(c:get(path), 200)
  local opened, open = 0, crypt.open
  crypt.open = function(tbl, column, ...)
    if tbl == "objectives" and column == "title_enc" then opened = opened + 1 end
    return open(tbl, column, ...)
  end
  local ok, statements = pcall(t.statements, function() t.status(c:get(path), 200) end)
  crypt.open = open
  if not ok then error(statements, 0) end
  t.eq(H.objective_reads(statements), 1, "the page's rows only")
  t.eq(opened, 1, "the title of the one objective found, for its row")
end)

t.test("a renamed objective is found by its new title at once, never by its old one", function()
  t.same(finds("marcus", "harbour"), { harbour.id })
  t.status(H.as("zoe"):patch("/api/objectives/" .. harbour.id, { title = "Map the lighthouse" }), 200)
  t.same(finds("marcus", "harbour"), {}, "the old title")
  t.same(finds("marcus", "lighthouse"), { harbour.id }, "the new one")
end)

t.test("an added objective is found at once; a deleted one is gone at once", function()
  t.same(finds("marcus", "lantern"), {})
  local lantern = H.objective("zoe", q1, { title = "Trim the lantern" })
  t.same(finds("marcus", "lantern"), { lantern.id }, "added")
  t.status(H.as("zoe"):delete("/api/objectives/" .. lantern.id), 204)
  t.same(finds("marcus", "lantern"), {}, "deleted")
end)

t.test("an objective made private is found at once only by those who may read it", function()
  t.same(finds("ethan", "beacon"), { beacon.id }, "public: a colleague finds it")
  t.status(H.as("mia"):patch("/api/objectives/" .. beacon.id, { visibility = "private" }), 200)
  t.no(H.reads("ethan", beacon.id), "the colleague may not read it now")
  t.same(finds("ethan", "beacon"), {}, "nor find it, though its title is kept opened")
  t.same(finds("mia", "beacon"), { beacon.id }, "its owner still finds it")
  t.same(finds("ethan", "BEAC"), {}, "nor by a part of it")
end)

t.test("a renamed owner is found by the new name at once", function()
  t.same(finds("marcus", "Quillfeather"), {})
  t.status(H.as("marcus"):patch("/api/users/" .. H.id("zoe"), { name = "Zoë Quillfeather" }), 200)
  t.same(finds("marcus", "quillfeather"), { harbour.id })
end)

t.test("a rename that rolls back is never found", function()
  t.same(finds("marcus", "lighthouse"), { harbour.id })
  local ok = pcall(db.transaction, function()
    db.exec("UPDATE objectives SET title_enc = ? WHERE id = ?",
      crypt.seal("objectives", "title_enc", { harbour.id }, "Sink the fleet"), harbour.id)
    t.same(finds("marcus", "fleet"), { harbour.id }, "seen inside the transaction")
    error("refused")
  end)
  t.no(ok)
  t.same(finds("marcus", "fleet"), {}, "not after the rollback")
  t.same(finds("marcus", "lighthouse"), { harbour.id })
end)
