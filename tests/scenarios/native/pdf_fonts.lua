-- core.pdf beyond Latin: a character DejaVu Sans lacks is drawn with a fallback font found at
-- run time (CJK: fonts-droid-fallback, fonts-wqy-microhei; symbols: fonts-symbola), one no
-- installed font has prints as U+FFFD, and the 2D graph of a review is drawn as a graph.
-- Checked from the outside with poppler (pdftotext, pdffonts, pdftoppm).
local t = require "testing"
local pdf = require "core.pdf"
local demo = require "demo"
local db = require "lib.db"

-- runs a poppler tool on the PDF bytes and returns its output
local poppler = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "poppler_lib.lua").run

-- the text of a PDF, runs of white space (line ends) as one space
local function text_of(bytes) return (poppler(bytes, "pdftotext -enc UTF-8 FILE -"):gsub("%s+", " ")) end

-- { ["DejaVuSans"] = { embedded = true }, ... } from pdffonts (the subset prefix taken off)
local function fonts_of(bytes)
  local out = {}
  for line in poppler(bytes, "pdffonts FILE"):gmatch("[^\n]+") do
    local name, emb = line:match("^%u%u%u%u%u%u%+([%w%-]+)%S*%s+CID TrueType%s+%S+%s+(%a+)")
    if name then out[name] = { embedded = emb == "yes" } end
  end
  return out
end

-- dark pixels on page 1 (rendered at 100 dpi in grey)
local function ink(bytes)
  local pgm = poppler(bytes, "pdftoppm -gray -r 100 -f 1 -l 1 FILE")
  local w, h, body = pgm:match("^P5%s+(%d+)%s+(%d+)%s+%d+%s(.*)$")
  assert(w, "pdftoppm made no image")
  local dark = 0
  for i = 1, tonumber(w) * tonumber(h) do if body:byte(i) < 128 then dark = dark + 1 end end
  return dark
end

local function doc(text, extra)
  local d = { title = "Fonts", blocks = { { type = "p", text = text } } }
  for k, v in pairs(extra or {}) do d[k] = v end
  return d
end

local MIXED = "王小明 说：我们完成了新的部署流程。こんにちは。한국어도 됩니다. Ömer Łukasz Żak, Zoë Ångström, Łódź."

t.test("the fallback fonts are installed (the build's packages) and found at run time", function()
  local cjk, symbols = pdf.fallback_fonts()
  t.match(cjk, "%.tt[fc]$", "a CJK font with TrueType outlines")
  t.match(symbols, "Symbola", "the symbol font")
end)

t.test("Chinese, Japanese, Korean and Polish text comes back from the PDF as written", function()
  local text = text_of(assert(pdf.render(doc(MIXED))))
  for _, s in ipairs({ "王小明", "我们完成了新的部署流程", "こんにちは", "한국어도", "Ömer Łukasz Żak", "Zoë Ångström", "Łódź" }) do
    t.contains(text, s)
  end
end)

t.test("every font used is embedded: DejaVu Sans, a CJK font, and only what the text needs", function()
  local mixed = fonts_of(assert(pdf.render(doc(MIXED .. " ✓ ✅"))))
  t.ok(mixed["DejaVuSans"] and mixed["DejaVuSans"].embedded, "DejaVu Sans embedded")
  t.ok(mixed["DejaVuSans-Bold"] and mixed["DejaVuSans-Bold"].embedded, "its bold (the title)")
  t.ok(mixed["DroidSansFallback"] and mixed["DroidSansFallback"].embedded, "Droid Sans Fallback for Chinese")
  t.ok(mixed["WenQuanYiMicroHei"] and mixed["WenQuanYiMicroHei"].embedded, "WenQuanYi Micro Hei for Hangul")
  t.ok(mixed["Symbola"] and mixed["Symbola"].embedded, "Symbola for ✅")
  local latin = fonts_of(assert(pdf.render(doc("Ömer Łukasz Żak, Zoë Ångström"))))
  t.same({ latin["DroidSansFallback"], latin["WenQuanYiMicroHei"], latin["Symbola"] }, {}, "no fallback for Latin text")
  t.ok(latin["DejaVuSans"])
end)

t.test("an emoji no installed font has prints as one U+FFFD, joined sequences and flags too", function()
  local text = poppler(assert(pdf.render(doc("A 🎉 B 👨‍👩‍👧 C 🇩🇪 D ❤️ E ✅ F"))), "pdftotext -raw -enc UTF-8 FILE -")
  t.contains(text, "A \u{FFFD} B \u{FFFD} C \u{FFFD} D ❤ E ✅ F", "one replacement each, BMP emoji kept")
end)

t.test("a CJK glyph built from parts (a composite glyph) is drawn, not left blank", function()
  -- 明 and 的 are composite glyphs in Droid Sans Fallback; 王 is a simple one
  local blank = ink(assert(pdf.render(doc(""))))
  local simple = ink(assert(pdf.render(doc(("王"):rep(12))))) - blank
  local composite = ink(assert(pdf.render(doc(("明的"):rep(6))))) - blank
  t.ok(simple > 200, "simple glyphs have ink (" .. simple .. ")")
  t.ok(composite > simple / 2, ("composite glyphs have ink too (%d, simple %d)"):format(composite, simple))
end)

t.test("the 2D graph is drawn with its axes, a dot each for the reviewee and the manager, and a legend", function()
  local bytes = assert(pdf.render({ title = "Graph", blocks = {
    { type = "graph", label = "Place yourself on the graph.", x_label = "Skill", y_label = "Motivation",
      points = { { x = 72, y = 40, label = "王小明 (self)" }, { x = 60, y = 55, label = "Zoë Ångström (manager)" } } },
    { type = "graph", label = "Not placed yet", x_label = "Impact", y_label = "Growth" },
  } }))
  local text = text_of(bytes)
  for _, s in ipairs({ "Place yourself on the graph.", "Skill →", "Motivation →", "low", "high",
    "王小明 (self): Skill 72, Motivation 40", "Zoë Ångström (manager): Skill 60, Motivation 55", "Not placed yet",
    "Not placed", "Impact →", "Growth →" }) do
    t.contains(text, s)
  end
  t.not_contains(text, "(of 100)", "a graph, not numbers in a table")
  -- drawn: the frames, the axes' names and the dots put ink on the page beyond the texts
  local words = ink(assert(pdf.render({ title = "Graph", blocks = { { type = "p", text = text } } })))
  t.ok(ink(bytes) > words + 1000, "lines and dots drawn")
end)

t.test("a graph's dots must lie on the graph", function()
  local function try(points)
    return tostring(t.raises(function() pdf.render({ title = "x", blocks = { { type = "graph", points = points } } }) end))
  end
  t.contains(try({ { x = 101, y = 5 } }), "blocks[1].points[1] needs x and y from 0 to 100")
  t.contains(try({ { x = 5 } }), "needs x and y")
  t.contains(try({ 1, 2, 3, 4, 5 }), "at most 4 points")
end)

t.test("without the fallback fonts the PDF is still made, every CJK character a visible U+FFFD", function()
  local bytes = assert(pdf.render(doc("王小明 and Łukasz", { fallback_dir = "/nonexistent-fallbacks" })))
  t.contains(text_of(bytes), "\u{FFFD}\u{FFFD}\u{FFFD} and Łukasz")
  t.eq(fonts_of(bytes)["DroidSansFallback"], nil)
end)

-- the review PDF of the app, for a reviewee with a Chinese name, a Polish manager and answers
-- in both scripts
t.test("the review PDF of 王小明 keeps every name and answer and draws the graph", function()
  local P = t.demo()
  local hr = t.login(demo.email("marcus"))
  t.status(hr:patch("/api/users/" .. P.mia.id, { name = "王小明" }), 200)
  t.status(hr:patch("/api/users/" .. P.ravi.id, { name = "Łukasz Żak" }), 200)
  local cycle = hr:post("/api/cycles", { name = "Przegląd 2026 — 年中", start_date = "2026-01-05", self_due = "2026-01-19",
    manager_due = "2026-02-02", sign_due = "2026-02-16" }).json
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/reviewees", { user_ids = { P.mia.id } }), 200)
  t.status(hr:post("/api/cycles/" .. cycle.id .. "/start"), 200)
  local id = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", cycle.id, P.mia.id)
  local mia = t.login(demo.email("mia"))
  t.status(mia:put("/api/reviews/" .. id .. "/answers/self",
    { q1 = "我们完成了新的部署流程。Zrobiliśmy dużo — świetnie! 🎉", q3 = { x = 72, y = 40 } }), 200)
  local res = mia:get("/reviews/" .. id .. "/pdf")
  t.status(res, 200)
  t.eq(res.headers["content-type"], "application/pdf")
  t.contains(res.headers["content-disposition"], "filename*=UTF-8''review-%E7%8E%8B%E5%B0%8F%E6%98%8E-")
  local text = text_of(res.body)
  for _, s in ipairs({ "王小明 — Przegląd 2026 — 年中", "Łukasz Żak", "我们完成了新的部署流程。Zrobiliśmy dużo — świetnie! \u{FFFD}",
    "王小明 (self): Skill 72, Motivation 40", "Motivation →" }) do
    t.contains(text, s)
  end
  local fonts = fonts_of(res.body)
  t.ok(fonts["DejaVuSans"] and fonts["DroidSansFallback"] and fonts["DroidSansFallback"].embedded)
end)
