-- The XML export (PRODUCT.md §9: super users only; one streamed XML per company, audit-logged).
-- A super user starts it on its page (or through the API), it is made in the background, and
-- they download one well-formed UTF-8 document of the company. It holds only what they could read
-- one by one: not someone else's private note or 1:1 item, not a manager's draft, nothing
-- confidential of a person above them. Everyone else is refused and nothing is written; the file
-- is the starter's alone; reading the company costs a number of queries by pages, not by rows.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local crypt = require "lib.crypt"
local clock = require "core.clock"
local fs = require "core.fs"
local access = require "services.access"
local reviews = require "services.reviews"
local xml_export = require "services.xml_export"
local timer = require "core.timer"
local pacing = require "lib.pacing"
local X = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_xml.lua")

local P = t.demo()
demo.sample_cycle()
demo.sample_360()
demo.sample_messages()
demo.sample_one_on_ones()
demo.sample_surveys()
demo.sample_objectives()

-- What was written by the export: its record, its jobs and its audit entries.
local function written()
  local rec = xml_export.current()
  return { record = rec and rec.id or "none",
    jobs = db.value("SELECT count(*) FROM jobs WHERE kind = ?", xml_export.JOB),
    audit = db.value("SELECT count(*) FROM audit_log WHERE action LIKE 'xml_export.%'"),
    files = #(fs.list(xml_export.folder()) or {}), folder = fs.stat(xml_export.folder()) ~= nil }
end

-- Makes person key a super user (adds the role they lack).
local function make_super(key, role)
  db.transaction(function()
    db.exec("INSERT INTO user_roles(user_id, role, granted_by, granted_at) VALUES(?, ?, NULL, ?)", P[key].id, role,
      clock.now())
    access.sync(P[key].id)
  end)
end

-- Starts an export through the API as client c, lets the job run, downloads it: the response.
local function export_as(c)
  t.status(c:post("/api/exports/xml", {}), 202)
  t.run_jobs()
  t.eq(t.status(c:get("/api/exports/xml"), 200).json.export.status, "ready")
  return t.status(c:get("/api/exports/xml/download"), 200)
end

t.test("everyone but a super user is refused the page, the start, the status and the file, and nothing is written", function()
  local before = written()
  for _, key in ipairs({ "marcus", "tom", "lena", "ravi", "mia" }) do
    local c = t.login(demo.email(key))
    t.status(c:get("/admin/xml-export"), 403, key .. ": the page")
    t.status(c:form("/admin/xml-export", {}), 403, key .. ": the start button")
    t.status(c:post("/api/exports/xml", {}), 403, key .. ": the API start")
    t.status(c:get("/api/exports/xml"), 403, key .. ": the status")
    t.status(c:get("/api/exports/xml/download"), 403, key .. ": the download")
    t.status(c:get("/admin/xml-export/download"), 403, key .. ": the page's download")
  end
  local guest = t.login("alex.morgan@clientcorp.example")
  for _, path in ipairs({ "/api/exports/xml", "/api/exports/xml/download", "/admin/xml-export" }) do
    t.eq(guest:get(path).status, 403, "the guest: " .. path)
  end
  t.status(guest:post("/api/exports/xml", {}), 403, "the guest: the API start")
  t.run_jobs()
  t.same(written(), before, "no record, no job, no audit entry, no file")
end)

t.test("the start button needs the form's CSRF token: without it nothing is written", function()
  local priya = t.login(demo.email("priya"))
  local before = written()
  priya.auto_csrf = false
  t.status(priya:request("POST", "/admin/xml-export", { form = { csrf_token = "forged" },
    headers = { origin = "http://" .. t.HOST } }), 403)
  t.status(priya:request("POST", "/api/exports/xml", { body = {}, headers = { origin = "http://" .. t.HOST } }), 403)
  t.run_jobs()
  t.same(written(), before)
end)

t.test("a super user (HR Admin who is Tech Admin too) starts it on the page, sees it run, then downloads it", function()
  local priya = t.login(demo.email("priya"))
  local page = t.status(priya:get("/admin/xml-export"), 200).body
  t.contains(page, "No export yet")
  t.contains(page, 'action="/admin/xml-export"')
  t.contains(page, 'name="csrf_token"')
  local res = t.status(priya:form("/admin/xml-export", {}), 303)
  t.eq(res.headers.location, "/admin/xml-export")
  page = t.status(priya:get("/admin/xml-export"), 200).body
  t.contains(page, "Being made")
  t.contains(page, 'data-refresh="2000"')
  t.not_contains(page, "Start the export", "no second start while it runs")
  t.status(priya:post("/api/exports/xml", {}), 409)
  t.run_jobs()
  page = t.status(priya:get("/admin/xml-export"), 200).body
  t.contains(page, "Ready")
  t.contains(page, 'href="/admin/xml-export/download"')
  t.match(page, "%d+%.%d kB")
  local file = t.status(priya:get("/admin/xml-export/download"), 200)
  t.eq(file.headers["content-type"], "application/xml; charset=utf-8")
  t.match(file.headers["content-disposition"], '^attachment; filename="candor%-export%-2026%-01%-05%.xml"$')
  local doc = X.parse(file.body)
  t.eq(doc.name, "candor-export")
  t.eq(doc.attrs["exported-by"], tostring(P.priya.id))
  t.eq(X.child(X.child(doc, "company"), "name").text, "Northwind Labs")
  t.eq(#X.all(doc, "person"), db.value("SELECT count(*) FROM users"), "every person")
  t.eq(#X.all(doc, "review"), db.value("SELECT count(*) FROM reviews"), "every review (she tracks the cycle)")
  t.ok(#X.all(doc, "subject") > 0, "360 subjects")
  t.ok(#X.all(doc, "objective") > 0, "objectives")
  t.ok(#X.all(doc, "message") > 0, "praise")
  t.ok(#X.all(doc, "series") > 0, "her 1:1s")
  t.ok(#X.all(doc, "survey") > 0, "surveys")
  local roles = {}
  for _, p in ipairs(X.all(doc, "person")) do
    if p.attrs.id == tostring(P.priya.id) then
      for _, r in ipairs(X.all(p, "role")) do roles[#roles + 1] = r.text end
      t.eq(p.attrs.manager, tostring(P.olivia.id))
    end
  end
  t.same(roles, { "hr_admin", "tech_admin" })
  -- audit-logged, never the content
  local entries = db.query("SELECT action, actor_id, details FROM audit_log WHERE action LIKE 'xml_export.%' ORDER BY id")
  t.eq(#entries, 2)
  t.eq(entries[1].action, "xml_export.start")
  t.eq(entries[2].action, "xml_export.download")
  t.eq(entries[2].actor_id, P.priya.id)
  t.not_contains(entries[2].details, "Northwind")
end)

t.test("a Tech Admin who is an HR Admin too is a super user as well; the file stays its maker's", function()
  make_super("tom", "hr_admin")
  local tom, priya = t.login(demo.email("tom")), t.login(demo.email("priya"))
  export_as(priya)
  -- Tom may see that Priya's export exists, not download it: it holds what she may read
  local s = t.status(tom:get("/api/exports/xml"), 200).json.export
  t.eq(s.status, "ready")
  t.eq(s.download, nil)
  local audit_before = db.value("SELECT count(*) FROM audit_log WHERE action = 'xml_export.download'")
  t.contains(t.status(tom:get("/api/exports/xml/download"), 403).json.error.message, "Only the person who made")
  t.status(tom:get("/admin/xml-export/download"), 403)
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'xml_export.download'"), audit_before, "no entry")
  t.contains(t.status(tom:get("/admin/xml-export"), 200).body, "Only Priya Natarajan may download it")
  -- his own replaces hers (her file is removed)
  local old = xml_export.current().file
  local doc = X.parse(export_as(tom).body)
  t.eq(doc.attrs["exported-by"], tostring(P.tom.id))
  t.no(fs.stat(xml_export.folder() .. "/" .. old), "the old file is gone")
  t.status(priya:get("/api/exports/xml/download"), 403)
  db.transaction(function()
    db.exec("DELETE FROM user_roles WHERE user_id = ? AND role = 'hr_admin'", P.tom.id)
    access.sync(P.tom.id)
  end)
  t.status(tom:get("/api/exports/xml/download"), 403, "no longer a super user: refused")
end)

t.test("a finished file is removed from the server a day after it was made; the page says so", function()
  local priya = t.login(demo.email("priya"))
  export_as(priya)
  local rec = xml_export.current()
  local path = xml_export.folder() .. "/" .. rec.file
  t.ok(fs.stat(path), "the file is there")
  t.contains(t.status(priya:get("/admin/xml-export"), 200).body, "Kept until")
  t.advance(xml_export.KEEP - 60)
  priya = t.login(demo.email("priya")) -- (her session has timed out meanwhile)
  t.eq(t.status(priya:get("/api/exports/xml"), 200).json.export.status, "ready", "a minute before: still there")
  t.advance(120)
  t.run_jobs()
  priya = t.login(demo.email("priya"))
  t.no(fs.stat(path), "the file is gone")
  t.eq(xml_export.current().status, "expired")
  t.eq(t.status(priya:get("/api/exports/xml"), 200).json.export.download, nil)
  t.status(priya:get("/api/exports/xml/download"), 404)
  t.contains(t.status(priya:get("/admin/xml-export"), 200).body, "was removed from the server a day after it was made")
  -- a new export can be made at once
  t.eq(X.parse(export_as(priya).body).attrs["exported-by"], tostring(P.priya.id))
end)

t.test("only what the exporter could read one by one: no one else's private note or 1:1 item, no draft, no one above her", function()
  local marcus, priya, olivia = t.login(demo.email("marcus")), t.login(demo.email("priya")), t.login(demo.email("olivia"))
  -- Marcus's private note about Mia, and his private point in his 1:1 with Priya
  t.status(marcus:post("/api/messages", { kind = "note", about_id = P.mia.id, text = "PRIVATE-NOTE-xq1",
    audience = "author" }), 201)
  local meeting = db.value([[SELECT m.id FROM meetings m JOIN meeting_series s ON s.id = m.series_id
    WHERE s.organizer_id = ? AND s.attendee_id = ? AND m.status = 'upcoming']], P.priya.id, P.marcus.id)
  t.status(marcus:post("/api/meetings/" .. meeting .. "/items", { kind = "point", text = "PRIVATE-POINT-xq2",
    private = true }), 201)
  t.status(marcus:post("/api/meetings/" .. meeting .. "/items", { kind = "point", text = "SHARED-POINT-xq3" }), 201)
  -- a manager's draft, not submitted: HR reads the manager's part once submitted
  local r = db.row("SELECT * FROM reviews WHERE manager_status = 'not_started' ORDER BY id LIMIT 1")
  db.transaction(function()
    reviews.save_answers(db.row("SELECT * FROM users WHERE id = ?", r.manager_id), r.id, "manager",
      { q1 = "DRAFT-WORDS-xq4" })
  end)
  -- Olivia (the CEO, above Priya) keeps a protected objective; Mia (below) too
  local cycle = db.value("SELECT id FROM objective_cycles ORDER BY id LIMIT 1")
  t.status(olivia:post("/api/objectives", { cycle_id = cycle, title = "ABOVE-PROTECTED-xq5", visibility = "protected" }), 201)
  t.status(t.login(demo.email("mia")):post("/api/objectives", { cycle_id = cycle, title = "BELOW-PROTECTED-xq6",
    visibility = "protected" }), 201)
  -- and Olivia's submitted self-assessment in the review cycle Priya tracks
  local rc = db.value("SELECT id FROM cycles ORDER BY id LIMIT 1")
  local above_review = db.transaction(function()
    local id = db.insert([[INSERT INTO reviews(cycle_id, reviewee_id, self_status, self_submitted_at, created_at,
      updated_at) VALUES(?, ?, 'submitted', ?, ?, ?)]], rc, P.olivia.id, clock.now(), clock.now(), clock.now())
    db.exec("INSERT INTO answers(review_id, author, question_id, value_enc, updated_at) VALUES(?, 'self', 'q1', ?, ?)", id,
      crypt.seal("answers", "value_enc", { id, "self", "q1" }, '"ABOVE-REVIEW-xq7"'), clock.now())
    return id
  end)
  local doc = X.parse(export_as(priya).body)
  local text = table.concat(X.texts(doc), "\n")
  t.not_contains(text, "ABOVE-REVIEW-xq7", "the self-assessment of the person above her")
  local listed = false
  for _, rv in ipairs(X.all(doc, "review")) do
    if rv.attrs.id == tostring(above_review) then listed = X.child(rv, "self-assessment") == nil end
  end
  t.ok(listed, "the review is listed (she tracks the cycle), without its content")
  local one = t.status(priya:get("/api/reviews/" .. above_review), 200).json
  t.eq(one.can.read_self, false, "as the review endpoint decides it")
  t.eq(one.self_answers, nil)
  t.not_contains(text, "PRIVATE-NOTE-xq1", "someone else's private note")
  t.not_contains(text, "PRIVATE-POINT-xq2", "someone else's private 1:1 item")
  t.contains(text, "SHARED-POINT-xq3", "a shared item of her own 1:1")
  t.not_contains(text, "DRAFT-WORDS-xq4", "a manager's draft")
  t.not_contains(text, "ABOVE-PROTECTED-xq5", "protected content of the person above her")
  t.contains(text, "BELOW-PROTECTED-xq6", "protected content below her: HR Admins read it")
  -- and each decision is the one-by-one endpoint's
  one = t.status(priya:get("/api/reviews/" .. r.id), 200).json
  t.eq(one.can.read_manager, false)
  t.eq(one.manager_answers, nil)
  local above = db.value("SELECT id FROM objectives WHERE owner_id = ? AND visibility = 'protected'", P.olivia.id)
  t.ok(priya:get("/api/objectives/" .. above).status == 404, "the objective page refuses it too")
  -- Marcus's own export holds his private note and point
  make_super("marcus", "tech_admin")
  text = table.concat(X.texts(X.parse(export_as(marcus).body)), "\n")
  t.contains(text, "PRIVATE-NOTE-xq1")
  t.contains(text, "PRIVATE-POINT-xq2")
  db.transaction(function()
    db.exec("DELETE FROM user_roles WHERE user_id = ? AND role = 'tech_admin'", P.marcus.id)
    access.sync(P.marcus.id)
  end)
end)

t.test("a starter who is no longer a super user when the job runs gets a stopped export, no file", function()
  make_super("marcus", "tech_admin")
  local marcus = t.login(demo.email("marcus"))
  t.status(marcus:post("/api/exports/xml", {}), 202)
  db.transaction(function()
    db.exec("DELETE FROM user_roles WHERE user_id = ? AND role = 'tech_admin'", P.marcus.id)
    access.sync(P.marcus.id)
  end)
  t.run_jobs()
  local s = t.status(t.login(demo.email("priya")):get("/api/exports/xml"), 200).json.export
  t.eq(s.status, "failed")
  t.contains(s.error, "may no longer make one")
  local files = fs.list(xml_export.folder())
  t.same(files, { "xml-export.json" }, "no export file left")
end)

t.test("names in any script and markup characters come out as written; characters XML forbids are replaced", function()
  db.transaction(function()
    db.exec("UPDATE users SET name = ?, job_title = ?, department = ?, location = ? WHERE id = ?",
      "Ömer Łukasz Żak", [[R&D <lead> "quoted" 'single']], "王小明のチーム", "a\1b\27c\r\nd\255e", P.mia.id)
  end)
  local doc = X.parse(export_as(t.login(demo.email("priya"))).body)
  local mia
  for _, p in ipairs(X.all(doc, "person")) do if p.attrs.id == tostring(P.mia.id) then mia = p end end
  t.eq(X.child(mia, "name").text, "Ömer Łukasz Żak")
  t.eq(X.child(mia, "job-title").text, [[R&D <lead> "quoted" 'single']])
  t.eq(X.child(mia, "department").text, "王小明のチーム")
  t.eq(X.child(mia, "location").text, "a\u{FFFD}b\u{FFFD}c\r\nd\u{FFFD}e", "controls and a bad byte replaced, CR kept")
  -- the escaping itself, text and attributes
  t.eq(xml_export.escape([[<a href="x">&'</a>]]), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;")
  t.eq(xml_export.escape("a\tb\nc", true), "a&#9;b&#10;c")
  t.eq(xml_export.escape("\0\8\11\12\31x\u{FFFE}"), string.rep("\u{FFFD}", 5) .. "x\u{FFFD}")
  t.eq(X.parse("<r a='" .. xml_export.escape("x\ny\t<&>\"'", true) .. "'/>").attrs.a, "x\ny\t<&>\"'")
end)

t.test("the file is written in slices: the loop is served between objects and the text is on disk as it goes", function()
  local priya = db.row("SELECT * FROM users WHERE id = ?", P.priya.id)
  assert(fs.mkdir(xml_export.folder()))
  local path = xml_export.folder() .. "/slices-test.xml"
  fs.remove(path)
  local yield, slice, flush = timer.yield, xml_export.SLICE_MS, xml_export.FLUSH_BYTES
  local sizes = {}
  xml_export.SLICE_MS, xml_export.FLUSH_BYTES = 0, 1024 -- every object its own slice
  timer.yield = function()
    local st = fs.stat(path)
    sizes[#sizes + 1] = st and st.size or 0
    return true
  end
  local co = coroutine.create(function() return pacing.long(xml_export.write, priya, path) end)
  local ok, size = coroutine.resume(co)
  timer.yield, xml_export.SLICE_MS, xml_export.FLUSH_BYTES = yield, slice, flush
  t.ok(ok, size)
  t.eq(fs.stat(path).size, size)
  t.ok(#sizes > db.value("SELECT count(*) FROM users"), ("%d pauses: at least one a person"):format(#sizes))
  for i = 2, #sizes do t.ok(sizes[i] >= sizes[i - 1], "the file only grows") end
  t.ok(sizes[#sizes // 4] > 0 and sizes[#sizes // 4] < size / 2, "a quarter of the way, part of the text is on disk")
  X.parse(fs.read(path))
  fs.remove(path)
end)

t.test("reading the company costs queries by pages, not by rows", function()
  local priya = db.row("SELECT * FROM users WHERE id = ?", P.priya.id)
  local page = xml_export.PAGE
  xml_export.PAGE = 20
  assert(fs.mkdir(xml_export.folder()))
  local path = xml_export.folder() .. "/count-test.xml"
  local function queries()
    fs.remove(path)
    local n = t.count_queries(function() xml_export.write(priya, path) end)
    fs.remove(path)
    return n
  end
  local before = queries()
  -- 100 more people, each with a public objective
  local _, _, ids = t.team_of(100)
  local cycle = db.value("SELECT id FROM objective_cycles ORDER BY id LIMIT 1")
  db.transaction(function()
    for _, id in ipairs(ids) do
      local o = db.insert([[INSERT INTO objectives(cycle_id, owner_id, visibility, title_enc, created_at, updated_at)
        VALUES(?, ?, 'public', x'', ?, ?)]], cycle, id, clock.now(), clock.now())
      db.exec("UPDATE objectives SET title_enc = ? WHERE id = ?", crypt.seal("objectives", "title_enc", { o }, "Goal " .. o), o)
    end
  end)
  local after = queries()
  xml_export.PAGE = page
  -- people: 2 queries a page, objectives: 2 a page; 101 more rows of each are 5 or 6 more pages
  t.ok(after - before <= 2 * 6 + 2 * 6, ("%d queries before, %d after"):format(before, after))
  t.ok(after - before < 100, "never one a row")
end)

t.test("(clean-up: the folder this file's exports were written to)", function()
  for _, name in ipairs(fs.list(xml_export.folder()) or {}) do fs.remove(xml_export.folder() .. "/" .. name) end
  os.remove(xml_export.folder())
  os.remove((xml_export.folder():gsub("/exports$", "")))
  t.no(fs.stat(xml_export.folder()))
end)
