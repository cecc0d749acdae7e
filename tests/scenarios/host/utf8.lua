-- Names and text beyond ASCII: "Ömer Łukasz Żak", "Zoë Ångström", "王小明", emoji. Text is cut,
-- measured, capitalised and ordered by characters, never by bytes (lib/util.lua); every page,
-- the Excel export, the mail and the audit log stay valid UTF-8 with such people in them.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local util = require "lib.util"

-- ---------------------------------------------------------------- the helpers

t.test("initials take the first character of the first and last word, whatever the script", function()
  local cases = {
    { "Ömer Özdemir", "ÖÖ" }, { "Ömer Łukasz Żak", "ÖŻ" }, { "Zoë Ångström", "ZÅ" }, { "王小明", "王" },
    { "王 小明", "王小" }, { "zoë", "Z" }, { "(Ana) de la Cruz", "AC" }, { "'Ömer", "Ö" }, { "łukasz żak", "ŁŻ" },
    { "Ελένη Παπαδοπούλου", "ΕΠ" }, { "дмитрий иванов", "ДИ" }, { "Ørjan Ås 🚀", "ØÅ" }, { "😀 Party", "P" },
    { "🚀", "🚀" }, { "🇩🇪 🇫🇷", "🇩🇪🇫🇷" }, { "👨‍👩‍👧", "👨‍👩‍👧" }, { "O\u{308}mer Smith", "O\u{308}S" }, { "- & ", "?" }, { "", "?" },
    { "James O'Connor", "JO" },
  }
  for _, c in ipairs(cases) do
    local got = util.initials(c[1])
    t.eq(got, c[2], c[1])
    t.ok(utf8.len(got), "valid UTF-8 for " .. c[1])
  end
end)

t.test("truncating never cuts a character, an accent or an emoji sequence", function()
  t.eq(util.truncate("Ömer Łukasz Żak", 6), "Ömer…")
  t.eq(util.truncate("Ömer Łukasz Żak", 15), "Ömer Łukasz Żak", "short enough: unchanged")
  t.eq(util.truncate("王小明王小明", 4), "王小明…")
  t.eq(util.truncate("e\u{301}e\u{301}e\u{301}", 2, ""), "e\u{301}", "the accent stays with its letter")
  t.eq(util.truncate("ab👨‍👩‍👧cd", 4, ""), "ab", "a family is one character for a reader")
  t.eq(util.truncate_bytes("Żak", 1), "")
  t.eq(util.truncate_bytes("Żak", 2), "Ż")
  t.eq(util.truncate_bytes("王小明", 7), "王小")
  for n = 0, 12 do t.ok(utf8.len(util.truncate_bytes("aŻ王😀b", n)), "valid at " .. n) end
  t.eq(util.utf8_sub("Ömer Łukasz", 6), "Łukasz")
  t.eq(util.utf8_sub("Ömer", -2), "er")
  t.eq(util.len("Zoë"), 3)
  t.eq(util.utf8_clean("a\xC3b"), "a\u{FFFD}b")
end)

t.test("capitals, small letters and the sort key know Latin, Greek and Cyrillic", function()
  t.eq(util.upper("zoë ångström łukasz żak"), "ZOË ÅNGSTRÖM ŁUKASZ ŻAK")
  t.eq(util.lower("ÖMER ΕΛΈΝΗ ДМИТРИЙ"), "ömer ελένη дмитрий")
  t.eq(util.fold("Zoë Ångström"), "zoe angstrom")
  t.eq(util.fold("ŁUKASZ"), "lukasz")
  t.eq(util.fold("Straße"), "strasse")
  t.eq(util.ascii("Łódź Straße 王"), "Lodz Strasse _")
  local names = { "Zoë", "Ömer", "Łukasz", "anna", "Ångström", "Olivia", "Zoe", "lukas", "王小明", "Émile", "Eve" }
  table.sort(names, util.before)
  t.same(names, { "Ångström", "anna", "Émile", "Eve", "lukas", "Łukasz", "Olivia", "Ömer", "Zoe", "Zoë", "王小明" })
end)

-- ---------------------------------------------------------------- the app

local P = t.demo()
local NAMES = { mia = "Ömer Łukasz Żak", zoe = "Zoë Ångström", omar = "王小明", lucas = "Ørjan Ås 🚀" }
local cycle_id

local function valid(res, what)
  t.ok(utf8.len(res.body), what .. " is valid UTF-8")
  return res.body
end

t.test("people with such names are renamed through the API", function()
  local hr = t.login(demo.email("marcus"))
  for key, name in pairs(NAMES) do
    t.status(hr:patch("/api/users/" .. P[key].id, { name = name, job_title = "Engineer ✨ — Kraków" }), 200)
  end
  t.eq(db.value("SELECT name FROM users WHERE id = ?", P.omar.id), "王小明")
end)

t.test("the directory orders names without regard to case or accents and finds them without accents", function()
  local super = t.login(demo.email("priya"))
  local res = super:get("/api/users?per_page=200&sort=name")
  t.status(res, 200)
  local names = {}
  for i, u in ipairs(res.json.users) do names[i] = u.name end
  local sorted = { table.unpack(names) }
  table.sort(sorted, util.before)
  t.same(names, sorted, "in the order util.before gives")
  local function pos(name) for i, n in ipairs(names) do if n == name then return i end end end
  t.ok(pos("Olivia Bennett") < pos("Ömer Łukasz Żak") and pos("Ömer Łukasz Żak") < pos("Oscar Lindgren"),
    "Ömer between Olivia and Oscar, not after Z")
  t.ok(pos("Zoë Ångström") < pos("王小明"), "other scripts after Latin")
  local desc = super:get("/api/users?per_page=200&sort=name&order=desc").json.users
  t.eq(desc[1].name, "王小明")
  local function found(q)
    local list = {}
    for _, u in ipairs(super:get("/api/users?q=" .. util.url_encode(q)).json.users) do list[#list + 1] = u.name end
    return list
  end
  t.same(found("lukasz"), { "Ömer Łukasz Żak" })
  t.same(found("ÖMER Ł"), { "Ömer Łukasz Żak" })
  t.same(found("omer"), { "Luca Bianchi", "Maya Cohen", "Ömer Łukasz Żak" }, "and Customer Success Managers")
  t.same(found("angstrom"), { "Zoë Ångström" })
  t.same(found("小明"), { "王小明" })
end)

t.test("the main pages stay valid UTF-8 and show each avatar's initials whole", function()
  local super = t.login(demo.email("priya"))
  local hr = t.login(demo.email("marcus"))
  local res = hr:post("/api/cycles", { name = "Przegląd 2026 — 年中 🎯", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" })
  t.status(res, 201)
  cycle_id = res.json.id
  t.status(hr:post("/api/cycles/" .. cycle_id .. "/reviewees",
    { user_ids = { P.mia.id, P.zoe.id, P.omar.id, P.lucas.id } }), 200)
  t.status(hr:post("/api/cycles/" .. cycle_id .. "/start"), 200)
  t.run_jobs()
  local mia_review = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle_id, P.mia.id)
  t.status(t.login(demo.email("mia")):put("/api/reviews/" .. mia_review .. "/answers/self",
    { q1 = "Zrobiliśmy dużo 🎉 — 我们完成了", q3 = { x = 40, y = 70 } }), 200)
  local pages = { "/home", "/people", "/people?sort=name&order=desc", "/org", "/cycles", "/cycles/" .. cycle_id,
    "/cycles/" .. cycle_id .. "/reviewees?view=org", "/cycles/" .. cycle_id .. "/reviewees?view=list",
    "/reviews/" .. mia_review, "/admin/audit", "/admin/outbox", "/people?q=%C3%98rjan" }
  for _, key in ipairs({ "mia", "zoe", "omar", "lucas" }) do pages[#pages + 1] = "/people/" .. P[key].id end
  for _, path in ipairs(pages) do
    local r = super:get(path)
    t.status(r, 200, path)
    valid(r, path)
  end
  local people = super:get("/people").body
  t.contains(people, '<span class="avatar" aria-hidden="true">ÖŻ</span>')
  t.contains(people, '<span class="avatar" aria-hidden="true">ZÅ</span>')
  t.contains(people, '<span class="avatar" aria-hidden="true">王</span>')
  t.contains(people, '<span class="avatar" aria-hidden="true">ØÅ</span>')
  t.contains(super:get("/org").body, "王小明")
  -- the manager's team page and the reviewee's own review
  local ravi = t.login(demo.email("ravi"))
  valid(ravi:get("/team"), "/team")
  valid(ravi:get("/reviews/" .. mia_review), "the manager's review page")
  valid(t.login(demo.email("mia")):get("/reviews/" .. mia_review), "the reviewee's review page")
end)

t.test("the Excel export keeps the names as written, in valid UTF-8 shared strings", function()
  local hr = t.login(demo.email("marcus"))
  local res = hr:get("/cycles/" .. cycle_id .. "/export.xlsx")
  t.status(res, 200)
  t.contains(res.headers["content-disposition"], "filename*=UTF-8''Przegl%C4%85d-2026-")
  t.contains(res.headers["content-disposition"], 'filename="Przeglad-2026_statistics.xlsx"')
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(res.body)
  f:close()
  local p = assert(io.popen(("unzip -p %s xl/sharedStrings.xml 2>/dev/null"):format(path)))
  local strings = p:read("a")
  p:close()
  os.remove(path)
  t.ok(utf8.len(strings), "sharedStrings.xml is valid UTF-8")
  for _, name in pairs(NAMES) do t.contains(strings, "<t>" .. name .. "</t>") end
end)

t.test("mail to such people is valid UTF-8, subjects encoded for the headers", function()
  local mails = t.outbox({ template = "review.invite" })
  t.ok(#mails >= 4, "the invitations")
  for _, m in ipairs(mails) do
    t.ok(utf8.len(m.subject) and utf8.len(m.body_text) and utf8.len(m.to_name or ""), "mail " .. m.id)
  end
  local to_omar = t.outbox({ template = "review.invite", to = P.omar.email })[1]
  t.eq(to_omar.to_name, "王小明")
  local mime = require "lib.mime"
  local built = mime.build{ from = { email = "hr@northwind.example", name = "Łukasz Żak" },
    to = { { email = to_omar.to_email, name = to_omar.to_name } }, subject = to_omar.subject .. " 🎯", text = to_omar.body_text }
  t.no(built:find("[\128-\255]", 1), "headers are 7-bit: names and subject as encoded-words")
  t.contains(built, "=?UTF-8?B?")
end)

t.test("a sign-in with a long non-ASCII address keeps the audit log valid UTF-8", function()
  local res = t.client():post("/api/session", { email = "a" .. ("ö"):rep(200) .. "@example.com", password = "x" })
  t.status(res, 401)
  local label = db.value("SELECT actor_label FROM audit_log WHERE action = 'signin.failure' ORDER BY id DESC LIMIT 1")
  t.ok(#label <= 254, "cut to the column's size")
  t.ok(utf8.len(label), "cut between characters")
end)

t.test("an import keeps UTF-8 names (a byte order mark is fine) and refuses text that is not UTF-8", function()
  local super = t.login(demo.email("priya"))
  local csv = "\xEF\xBB\xBFemail,name\nmaja.lis@northwind.example,Maja Łoś-Żółć\n"
  local res = super:request("POST", "/api/users/import", { body = csv, headers = { ["content-type"] = "text/csv" } })
  t.status(res, 202)
  t.advance("1s") -- the import runs in the background
  t.eq(db.value("SELECT name FROM users WHERE email = 'maja.lis@northwind.example'"), "Maja Łoś-Żółć")
  local latin1 = "email,name\njose@northwind.example,Jos\xE9 M\xFCller\n"
  local bad = super:request("POST", "/api/users/import", { body = latin1, headers = { ["content-type"] = "text/csv" } })
  t.status(bad, 422)
  t.ok(utf8.len(bad.body), "the refusal itself is valid UTF-8")
  t.eq(db.value("SELECT count(*) FROM users WHERE email = 'jose@northwind.example'"), 0)
end)
