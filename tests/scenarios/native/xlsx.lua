-- core.xlsx: the Excel exports (review statistics). A workbook is described as
-- plain Lua data; it is written on the thread pool while the calling task waits.
local t = require "testing"
local xlsx = require "core.xlsx"
local clock = require "core.clock"

-- reads one file out of an .xlsx (bytes) with `unzip -p`
local function unzip(bytes, entry)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  local p = assert(io.popen(("unzip -p %s %s 2>/dev/null"):format(path, entry)))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function xml_unescape(s)
  return (s:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&amp;", "&"))
end

-- the shared strings of a workbook, in order (index 0 first)
local function shared_strings(bytes)
  local list = {}
  for si in unzip(bytes, "xl/sharedStrings.xml"):gmatch("<si>(.-)</si>") do
    list[#list + 1] = xml_unescape(si:match("<t[^>]*>(.-)</t>") or "")
  end
  return list
end

-- the cells of a sheet: map "A1" -> { v = value text, s = style index, t = type }
local function cells(bytes, n)
  local out = {}
  local sheet = unzip(bytes, ("xl/worksheets/sheet%d.xml"):format(n))
  for attrs, body in sheet:gmatch("<c ([^>]-)/?>(.-)</c>") do
    local ref = attrs:match('r="(%w+)"')
    out[ref] = { v = body:match("<v>(.-)</v>"), s = tonumber(attrs:match('s="(%d+)"') or 0), t = attrs:match('t="(%a+)"') }
  end
  return out, sheet
end

-- the text of a cell (shared strings resolved)
local strings_cache = setmetatable({}, { __mode = "k" })
local function text(bytes, cellmap, ref)
  local c = cellmap[ref]
  if not c then return nil end
  if c.t ~= "s" then return c.v end
  strings_cache[cellmap] = strings_cache[cellmap] or shared_strings(bytes)
  return strings_cache[cellmap][tonumber(c.v) + 1]
end

-- whether style index s uses a bold font, and its number format code
local function style(bytes, s)
  local styles = unzip(bytes, "xl/styles.xml")
  local fonts, xfs, fmts = {}, {}, {}
  for f in styles:match("<fonts.->(.-)</fonts>"):gmatch("<font>(.-)</font>") do fonts[#fonts + 1] = f end
  for xf in styles:match("<cellXfs.->(.-)</cellXfs>"):gmatch("<xf ([^>]-)/?>") do xfs[#xfs + 1] = xf end
  for id, code in styles:gmatch('<numFmt numFmtId="(%d+)" formatCode="([^"]*)"') do fmts[tonumber(id)] = code end
  local xf = assert(xfs[s + 1], "no style " .. s)
  local font = fonts[tonumber(xf:match('fontId="(%d+)"')) + 1]
  return font:find("<b/>", 1, true) ~= nil, fmts[tonumber(xf:match('numFmtId="(%d+)"'))]
end

local UNICODE = "Zoë Müller — Łódź"

local function review_book()
  return {
    title = "Review statistics 2026 H1", author = "Hana Roth (HR)", created = t.now(),
    sheets = {
      { name = "Ratings", freeze_header = true, autofilter = true,
        columns = {
          { header = "Person", width = 30 },
          { header = "Rating", type = "number" },
          { header = "Signed", type = "date" },
          { header = "Done", type = "percent" },
        },
        rows = {
          { UNICODE, 4.5, "2026-01-05", 0.875 },
          { "Ada Lovelace", 3, t.now(), 1 },
          { "Nobody yet" },
        } },
      { name = "Über [Łódź]: Q1/Q2",
        columns = { { header = "Département" }, { header = "Count", type = "number" } },
        rows = { { "Ventes & Marketing <EU>", 12 }, { 42, 7 } } },
    },
  }
end

t.test("a workbook with two sheets and unicode text round-trips through unzip", function()
  local bytes = assert(xlsx.write_string(review_book()))
  t.eq(bytes:sub(1, 4), "PK\3\4", "a zip file")
  local workbook = unzip(bytes, "xl/workbook.xml")
  t.contains(workbook, '<sheet name="Ratings"')
  t.contains(workbook, '<sheet name="Über -Łódź-- Q1-Q2"', "the second name, sanitised")
  local strings = shared_strings(bytes)
  t.contains(strings, UNICODE)
  t.contains(strings, "Ventes & Marketing <EU>")
  t.contains(strings, "Département")
  local c1 = cells(bytes, 1)
  t.eq(text(bytes, c1, "A1"), "Person")
  t.eq(text(bytes, c1, "A2"), UNICODE)
  t.eq(c1.B2.v, "4.5")
  t.eq(c1.B3.v, "3")
  t.eq(c1.B4, nil, "a missing value is an empty cell")
  local c2 = cells(bytes, 2)
  t.eq(text(bytes, c2, "A3"), "42", "a number in a text column is written as text")
  t.eq(c2.B3.v, "7")
end)

t.test("the header row is bold", function()
  local bytes = assert(xlsx.write_string(review_book()))
  local c1 = cells(bytes, 1)
  for _, ref in ipairs({ "A1", "B1", "C1", "D1" }) do
    t.ok(style(bytes, c1[ref].s), ref .. " is bold")
  end
  t.no(style(bytes, c1.A2.s), "a data cell is not bold")
  t.no(style(bytes, c1.B2.s), "a number cell is not bold")
end)

t.test("dates are real Excel dates and percentages keep their value", function()
  local bytes = assert(xlsx.write_string(review_book()))
  local c1 = cells(bytes, 1)
  t.eq(c1.C2.v, "46027", "2026-01-05 is serial day 46027")
  t.eq(c1.C2.t, nil, "a number, not text")
  local _, date_fmt = style(bytes, c1.C2.s)
  t.eq(date_fmt, "yyyy-mm-dd")
  -- the virtual clock (Monday 2026-01-05 09:00 UTC) as a unix time: day 46027 and 9/24
  t.eq(tonumber(c1.C3.v), 46027 + 9 / 24)
  t.eq(c1.D2.v, "0.875")
  local _, pct_fmt = style(bytes, c1.D2.s)
  t.eq(pct_fmt, "0.0%")
end)

t.test("column widths, the frozen header, the filter and the document properties are set", function()
  local bytes = assert(xlsx.write_string(review_book()))
  local _, sheet = cells(bytes, 1)
  t.match(sheet, '<col min="1" max="1" width="30%.%d+"', "the given width")
  t.match(sheet, '<col min="2" max="2" width="%d', "a fitted width")
  t.match(sheet, '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>')
  t.contains(sheet, '<autoFilter ref="A1:D4"/>')
  local _, sheet2 = cells(bytes, 2)
  t.not_contains(sheet2, "<pane", "the second sheet asked for no frozen header")
  t.not_contains(sheet2, "<autoFilter")
  local core = unzip(bytes, "docProps/core.xml")
  t.contains(core, "<dc:title>Review statistics 2026 H1</dc:title>")
  t.contains(core, "<dc:creator>Hana Roth (HR)</dc:creator>")
  t.contains(core, "2026-01-05T09:00:00Z", "the creation time given, not the real clock")
end)

t.test("the same description gives the same bytes", function()
  t.eq(xlsx.write_string(review_book()), xlsx.write_string(review_book()))
end)

t.test("sheet names are made safe for Excel", function()
  t.eq(xlsx.sheet_name("a[b]:c*d?e/f\\g"), "a-b--c-d-e-f-g")
  t.eq(xlsx.sheet_name(("Ł"):rep(40)), ("Ł"):rep(31), "31 characters, not bytes")
  t.eq(xlsx.sheet_name("'quoted'"), "quoted")
  t.eq(xlsx.sheet_name(""), "Sheet")
  local book = { sheets = {
    { name = "Ratings", columns = { { header = "A" } } },
    { name = "ratings", columns = { { header = "A" } } },
    { name = ("x"):rep(40), columns = { { header = "A" } } },
    { name = ("x"):rep(40), columns = { { header = "A" } } },
    { columns = { { header = "A" } } },
  } }
  local workbook = unzip(assert(xlsx.write_string(book)), "xl/workbook.xml")
  t.contains(workbook, '<sheet name="Ratings"')
  t.contains(workbook, '<sheet name="ratings (2)"', "names differ without regard to case")
  t.contains(workbook, ('<sheet name="%s"'):format(("x"):rep(31)))
  t.contains(workbook, ('<sheet name="%s (2)"'):format(("x"):rep(27)))
  t.contains(workbook, '<sheet name="Sheet"')
end)

t.test("write puts the workbook at the path, leaving no temporary file", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(require("core.fs").mkdir(dir))
  local path = dir .. "/stats.xlsx"
  t.eq(xlsx.write(path, review_book()), true)
  local bytes = read_file(path)
  t.eq(bytes:sub(1, 4), "PK\3\4")
  t.contains(shared_strings(bytes), UNICODE)
  t.same(require("core.fs").list(dir), { "stats.xlsx" })
  os.remove(path)
  os.remove(dir)
end)

t.test("a path that cannot be written fails with an io error", function()
  local ok, err = xlsx.write("/nonexistent-folder/x/stats.xlsx", review_book())
  t.eq(ok, nil)
  t.eq(err.code, "io")
  t.contains(err.message, "/nonexistent-folder/x/stats.xlsx")
end)

t.test("10,000 rows are written and read back", function()
  local rows = {}
  for i = 1, 10000 do
    rows[i] = { "Person " .. i, i % 5 + 1, 1767600000 + i * 86400, (i % 100) / 100, i % 7 == 0 and "late" or "on time" }
  end
  local book = { sheets = { { name = "Big", freeze_header = true, autofilter = true,
    columns = { { header = "Name" }, { header = "Rating", type = "number" }, { header = "Due", type = "date" },
      { header = "Progress", type = "percent" }, { header = "Status" } },
    rows = rows } } }
  local started = clock.mono_ms()
  local bytes = assert(xlsx.write_string(book))
  local ms = clock.mono_ms() - started
  print(("      10,000 rows x 5 columns: %d ms, %d bytes"):format(ms, #bytes))
  local c = cells(bytes, 1)
  t.eq(text(bytes, c, "A10001"), "Person 10000")
  t.eq(c.B10001.v, tostring(10000 % 5 + 1))
  t.eq(text(bytes, c, "E7"), "on time")
  t.eq(text(bytes, c, "E8"), "late")
  t.ok(ms < 5000, "took " .. ms .. " ms")
end)

t.test("bad descriptions are refused with a clear error", function()
  local function book(sheet) return { sheets = { sheet } } end
  local cols = { { header = "Name" }, { header = "N", type = "number" } }
  local err = t.raises(function() xlsx.write_string(book({ columns = cols, rows = { { "a", 1 }, "not a row" } })) end)
  t.contains(tostring(err), "sheets[1].rows[2] must be a table")
  err = t.raises(function() xlsx.write_string(book({ columns = { { header = 42 } } })) end)
  t.contains(tostring(err), "sheets[1].columns[1].header must be a string")
  err = t.raises(function() xlsx.write_string(book({ columns = cols, rows = { { "a", "three" } } })) end)
  t.contains(tostring(err), "sheets[1].rows[1][2] must be a number, not a string")
  err = t.raises(function() xlsx.write_string(book({ columns = cols, rows = { { "a", 1, "extra" } } })) end)
  t.contains(tostring(err), "has 3 values but the sheet has 2 columns")
  local dates = { { header = "D", type = "date" } }
  err = t.raises(function() xlsx.write_string(book({ columns = dates, rows = { { "05/01/2026" } } })) end)
  t.contains(tostring(err), "is not a date")
  err = t.raises(function() xlsx.write_string(book({ columns = { { header = "X", type = "money" } } })) end)
  t.contains(tostring(err), "must be text, number, date or percent")
  err = t.raises(function() xlsx.write_string(book({ columns = cols, rows = { { "bad \xff utf8" } } })) end)
  t.contains(tostring(err), "not valid UTF-8")
  err = t.raises(function() xlsx.write_string({ sheets = {} }) end)
  t.contains(tostring(err), "1..1000 sheets")
  err = t.raises(function() xlsx.write_string(book({ columns = cols, rows = { { "a", 0 / 0 } } })) end)
  t.contains(tostring(err), "not a finite number")
  t.raises(function() xlsx.write_string("nope") end, "table expected")
end)

t.test("it waits, so it cannot run in a coroutine of one's own", function()
  local co = coroutine.create(function() return xlsx.write_string(review_book()) end)
  local ok, err = coroutine.resume(co)
  t.no(ok)
  t.contains(tostring(err), "must be called from a request, job or script")
end)
