-- core.pdf: the review PDF export. A document is a list of blocks, laid out on A4
-- pages on the thread pool (DejaVu Sans, word wrapping, page breaks, "Page n of m").
-- Checked from the outside with poppler's pdftotext and pdfinfo.
local t = require "testing"
local pdf = require "core.pdf"
local clock = require "core.clock"

local PAGE_W, MARGIN = 595.276, 56.69

-- runs a poppler tool on the PDF bytes and returns its output
local poppler = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "poppler_lib.lua").run

local function text_of(bytes, page)
  if page then return poppler(bytes, ("pdftotext -f %d -l %d -enc UTF-8 FILE -"):format(page, page)) end
  return poppler(bytes, "pdftotext -enc UTF-8 FILE -")
end

local function info(bytes)
  local out = {}
  for k, v in poppler(bytes, "pdfinfo -enc UTF-8 FILE"):gmatch("([%w ]+):%s+([^\n]*)") do out[k] = v end
  return out
end

local function words(s)
  local list = {}
  for w in s:gmatch("%S+") do list[#list + 1] = w end
  return list
end

local UNICODE = "Zoë Müller — Łódź"

local function review()
  return {
    title = "Performance review — " .. UNICODE,
    subtitle = "Cycle 2026 H1",
    author = "Prepared by Hana Roth",
    created = t.now(),
    blocks = {
      { type = "h1", text = "Summary" },
      { type = "kv", rows = { { "Cycle", "2026 H1" }, { "Manager", "Ada Lovelace" }, { "Department", "Sales & Marketing" } } },
      { type = "p", text = "A short paragraph written by " .. UNICODE .. ", with accents: Ærø, Ğğ, Ññ, Šš." },
      { type = "rating", label = "Overall performance", value = 4, max = 5,
        labels = { "Unsatisfactory", "Developing", "Solid", "Strong", "Exceptional" } },
      { type = "rating", label = "Collaboration", max = 5 },
      { type = "h2", text = "Objectives" },
      { type = "table", header = { "Objective", "Weight", "Result" },
        rows = { { "Grow pipeline in Kraków", "40%", "Met" }, { "Onboard Søren", "20%", "Exceeded" },
          { "Ship Q2 plan", "40%", "Partly met" } } },
      { type = "signature", name = UNICODE, date = "Signed on 2026-03-01" },
    },
  }
end

t.test("the output is a PDF", function()
  local bytes = assert(pdf.render(review()))
  t.eq(bytes:sub(1, 5), "%PDF-")
  t.match(bytes, "%%%%EOF%s*$")
  t.eq(info(bytes).Pages, "1")
  t.eq(info(bytes)["Page size"], "595.276 x 841.89 pts (A4)")
end)

t.test("pdftotext finds the title, the unicode text and every table cell", function()
  local text = text_of(assert(pdf.render(review())))
  t.contains(text, "Performance review — " .. UNICODE)
  t.contains(text, "Cycle 2026 H1")
  t.contains(text, "Prepared by Hana Roth")
  t.contains(text, "A short paragraph written by " .. UNICODE .. ", with accents: Ærø, Ğğ, Ññ, Šš.")
  for _, cell in ipairs({ "Objective", "Weight", "Result", "Grow pipeline in Kraków", "40%", "Met",
    "Onboard Søren", "20%", "Exceeded", "Ship Q2 plan", "Partly met" }) do
    t.contains(text, cell)
  end
  for _, s in ipairs({ "Summary", "Objectives", "Ada Lovelace", "Sales & Marketing", "Department" }) do
    t.contains(text, s)
  end
end)

t.test("a rating shows its value, scale and label; a missing one says so", function()
  local text = text_of(assert(pdf.render(review())))
  t.contains(text, "Overall performance")
  t.contains(text, "4 of 5 — Strong")
  t.contains(text, "Collaboration")
  t.contains(text, "Not rated")
end)

t.test("the signature block names the signer and the date", function()
  local text = text_of(assert(pdf.render(review())))
  t.match(text, UNICODE .. "%s+Signed on 2026%-03%-01")
end)

t.test("the document properties carry the title, author and the time given", function()
  local i = info(assert(pdf.render(review())))
  t.eq(i.Title, "Performance review — " .. UNICODE)
  t.eq(i.Author, "Prepared by Hana Roth")
  t.eq(i.Subject, "Cycle 2026 H1")
  t.eq(i.Creator, "Candor")
  t.match(i.CreationDate, "Jan  5 09:00:00 2026")
end)

t.test("the same document gives the same bytes", function()
  t.eq(pdf.render(review()), pdf.render(review()))
end)

-- a long review: 30 paragraphs of about 120 words, each numbered so the order can be checked
local function long_doc()
  local doc = { title = "Long review of " .. UNICODE, blocks = { { type = "h1", text = "Feedback" } } }
  for i = 1, 30 do
    local w = { ("P%02d-start"):format(i) }
    local vocabulary = { "collaboration", "Łódź", "objectives", "a", "quarterly", "feedback", "Müller" }
    for k = 1, 120 do w[#w + 1] = vocabulary[k % 7 + 1] end
    w[#w + 1] = ("P%02d-end"):format(i)
    doc.blocks[#doc.blocks + 1] = { type = "p", text = table.concat(w, " ") }
  end
  return doc
end

t.test("a long text is wrapped to the page width and flows over several pages", function()
  local started = clock.mono_ms()
  local bytes = assert(pdf.render(long_doc()))
  local ms = clock.mono_ms() - started
  local pages = tonumber(info(bytes).Pages)
  print(("      %d pages, %d bytes, %d ms"):format(pages, #bytes, ms))
  t.ok(pages >= 4, pages .. " pages")
  -- every word is there, in order: nothing lost or repeated at line or page ends
  local doc = long_doc()
  local body = {}
  for line in text_of(bytes):gmatch("[^\n\f]+") do
    if line ~= doc.title and not line:match("^Page %d+ of %d+$") then
      for _, w in ipairs(words(line)) do body[#body + 1] = w end
    end
  end
  local want = {}
  for _, b in ipairs(doc.blocks) do
    for _, w in ipairs(words(b.text)) do want[#want + 1] = w end
  end
  t.eq(#body, #want, "word count")
  t.same(body, want)
  -- no word reaches into the right margin
  local widest = 0
  for xmax in poppler(bytes, "pdftotext -bbox FILE -"):gmatch('xMax="([%d.]+)"') do
    widest = math.max(widest, tonumber(xmax))
  end
  t.ok(widest <= PAGE_W - MARGIN + 0.5, "rightmost word ends at " .. widest)
  t.ok(widest > PAGE_W - MARGIN - 60, "lines are filled, not short: " .. widest)
end)

t.test("every page has the title in its header and 'Page n of m' in its footer", function()
  local bytes = assert(pdf.render(long_doc()))
  local pages = tonumber(info(bytes).Pages)
  for n = 1, pages do
    local text = text_of(bytes, n)
    t.contains(text, "Long review of " .. UNICODE, "page " .. n)
    t.contains(text, ("Page %d of %d"):format(n, pages), "page " .. n)
    t.not_contains(text, ("Page %d of"):format(n + 1), "page " .. n)
  end
  t.contains(text_of(bytes, 1), "P01-start")
  t.contains(text_of(bytes, pages), "P30-end")
end)

t.test("a page break starts a new page, and only one", function()
  local bytes = assert(pdf.render({ title = "Breaks", blocks = {
    { type = "p", text = "before" }, { type = "pagebreak" }, { type = "pagebreak" }, { type = "p", text = "after" },
  } }))
  t.eq(info(bytes).Pages, "2")
  t.contains(text_of(bytes, 1), "before")
  t.not_contains(text_of(bytes, 1), "after")
  t.contains(text_of(bytes, 2), "after")
end)

t.test("a long table continues on the next page under its header again", function()
  local rows = {}
  for i = 1, 150 do rows[i] = { "Person " .. i, tostring(i % 5 + 1), "Comment " .. i } end
  local bytes = assert(pdf.render({ title = "Ratings", blocks = {
    { type = "table", header = { "Name", "Score", "Remark" }, rows = rows } } }))
  local pages = tonumber(info(bytes).Pages)
  t.ok(pages >= 3, pages .. " pages")
  local text = text_of(bytes)
  for i = 1, 150 do t.contains(text, "Person " .. i .. "\n") end
  for n = 2, pages do
    t.contains(text_of(bytes, n), "Remark", "the header on page " .. n)
  end
end)

t.test("a word longer than a line is split, not lost", function()
  local word = ("x"):rep(400)
  local text = text_of(assert(pdf.render({ title = "Long word", blocks = { { type = "p", text = word } } })))
  local count = select(2, text:gsub("x", ""))
  t.eq(count, 400)
  t.ok(select(2, text:gsub("x+\n", "")) >= 3, "over several lines")
end)

t.test("the fonts are found at run time, and their absence is a clear error", function()
  local regular, bold = pdf.fonts()
  t.match(regular, "/DejaVuSans%.ttf$")
  t.match(bold, "/DejaVuSans%-Bold%.ttf$")
  local doc = review()
  doc.font_dir = "/nonexistent-fonts"
  local bytes, err = pdf.render(doc)
  t.eq(bytes, nil)
  t.eq(err.code, "font")
  t.contains(err.message, "/nonexistent-fonts")
  t.contains(err.message, "fonts-dejavu-core")
  local r2, err2 = pdf.fonts("/nonexistent-fonts")
  t.eq(r2, nil)
  t.eq(err2.code, "font")
end)

t.test("bad descriptions are refused with a clear error", function()
  local function try(doc) return tostring(t.raises(function() pdf.render(doc) end)) end
  t.contains(try({ blocks = {} }), "title must be text")
  t.contains(try({ title = "x", blocks = { { type = "p", text = "ok" }, { type = "quote", text = "no" } } }),
    "blocks[2].type must be h1, h2, p")
  t.contains(try({ title = "x", blocks = { { type = "table", header = { "a" }, rows = { "not a row" } } } }),
    "blocks[1].rows[1] must be a table")
  t.contains(try({ title = "x", blocks = { { type = "table", header = { "a" }, rows = { { "1", "2" } } } } }),
    "has 2 cells but the block has 1 columns")
  t.contains(try({ title = "x", blocks = { { type = "rating", value = 6, max = 5 } } }), "blocks[1].value must be a number 0..5")
  t.contains(try({ title = "x", blocks = { { type = "rating", value = 1, max = 50 } } }), "blocks[1].max")
  t.contains(try({ title = "x", blocks = { { type = "p", text = { "no" } } } }), "blocks[1].text must be text")
  t.contains(try({ title = "x", blocks = { { type = "p", text = "bad \xc3" } } }), "not valid UTF-8")
  t.contains(try({ title = "x", blocks = { { type = "signature" } } }), "blocks[1].name must be text")
  t.contains(try({ title = "x", blocks = { "p" } }), "blocks[1] must be a table")
  t.raises(function() pdf.render("doc") end, "table expected")
end)

t.test("control characters are dropped and tabs become spaces", function()
  local text = text_of(assert(pdf.render({ title = "Clean", blocks = {
    { type = "p", text = "one\ttwo\1three\r\nfour" } } })))
  t.contains(text, "one two")
  t.contains(text, "twothree")
  t.contains(text, "three\nfour")
end)

t.test("it waits, so it cannot run in a coroutine of one's own", function()
  local co = coroutine.create(function() return pdf.render(review()) end)
  local ok, err = coroutine.resume(co)
  t.no(ok)
  t.contains(tostring(err), "must be called from a request, job or script")
end)
