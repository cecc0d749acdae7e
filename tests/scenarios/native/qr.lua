-- core.qr: the QR code on the 2-step enrolment page, drawn by the server as a standalone SVG
-- (shown under a strict CSP: no scripts, no external references).
local t = require "testing"
local qr = require "core.qr"
local totp = require "core.totp"

local URI = totp.uri("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "zoe.mueller@example.com", "Candor")

-- the set of modules the SVG path paints, as "x,y" keys (in module units, quiet zone included)
local function painted(svg)
  local d = svg:match('<path[^>]- d="([^"]*)"')
  assert(d, "no path with a d attribute")
  local cells, count = {}, 0
  local rest = d:gsub("M(%d+) (%d+)h(%d+)v1h%-(%d+)z", function(x, y, n, back)
    x, y, n = tonumber(x), tonumber(y), tonumber(n)
    assert(tonumber(back) == n, "a run that does not close")
    for i = 0, n - 1 do
      local k = (x + i) .. "," .. y
      assert(not cells[k], "module painted twice: " .. k)
      cells[k] = true
      count = count + 1
    end
    return ""
  end)
  assert(rest == "", "unexpected path commands: " .. rest:sub(1, 40))
  return cells, count
end

local function finder_at(rows, x0, y0)
  local want = { "1111111", "1000001", "1011101", "1011101", "1011101", "1000001", "1111111" }
  for i = 1, 7 do
    if rows[y0 + i]:sub(x0 + 1, x0 + 7) ~= want[i] then return false end
  end
  return true
end

t.test("the matrix is a square of the size its version says, with the three finder patterns", function()
  local width, rows, version = qr.matrix("hello")
  t.eq(version, 1, "five bytes fit in version 1")
  t.eq(width, 17 + 4 * version)
  t.eq(#rows, width)
  for _, r in ipairs(rows) do
    t.eq(#r, width)
    t.match(r, "^[01]+$")
  end
  t.ok(finder_at(rows, 0, 0), "top left")
  t.ok(finder_at(rows, width - 7, 0), "top right")
  t.ok(finder_at(rows, 0, width - 7), "bottom left")
  t.no(finder_at(rows, width - 7, width - 7), "no finder at bottom right")
end)

t.test("longer text and a higher error-correction level take a larger version", function()
  local w1, _, v1 = qr.matrix(URI, "L")
  local w2, _, v2 = qr.matrix(URI, "H")
  t.ok(v2 > v1, ("H (%d) above L (%d)"):format(v2, v1))
  t.eq(w1, 17 + 4 * v1)
  t.eq(w2, 17 + 4 * v2)
end)

t.test("the output is deterministic", function()
  t.eq(qr.svg(URI), qr.svg(URI))
  local _, a = qr.matrix(URI)
  local _, b = qr.matrix(URI)
  t.same(a, b)
end)

t.test("the SVG is standalone: one path, sized to the modules and quiet zone, crisp edges", function()
  local width = qr.matrix(URI)
  local svg = qr.svg(URI)
  local side = width + 8
  t.match(svg, "^<svg xmlns=\"http://www.w3.org/2000/svg\"")
  t.contains(svg, ('viewBox="0 0 %d %d"'):format(side, side))
  t.contains(svg, ('width="%d" height="%d"'):format(side * 4, side * 4))
  t.contains(svg, 'shape-rendering="crispEdges"')
  local _, paths = svg:gsub("<path", "")
  t.eq(paths, 1, "exactly one path")
  t.match(svg, "</svg>$")
end)

t.test("the SVG has nothing a strict CSP would block", function()
  local svg = qr.svg(URI):lower()
  for _, bad in ipairs({ "<script", "href", "url(", "style", "<image", "<foreignobject", "javascript:", " on" }) do
    t.not_contains(svg, bad)
  end
  t.not_contains(qr.svg(URI), "GEZDGNBV", "the secret is not written into the SVG as text")
end)

t.test("the SVG path paints exactly the dark modules", function()
  local width, rows = qr.matrix(URI)
  local cells, count = painted(qr.svg(URI))
  local dark = 0
  for y = 1, width do
    for x = 1, width do
      local is_dark = rows[y]:sub(x, x) == "1"
      if is_dark then dark = dark + 1 end
      t.eq(cells[(x - 1 + 4) .. "," .. (y - 1 + 4)] == true, is_dark, ("module %d,%d"):format(x, y))
    end
  end
  t.eq(count, dark, "painted modules")
  t.ok(dark > width * width / 3, "a plausible share of dark modules")
end)

t.test("module size, margin and level are options", function()
  local width, rows = qr.matrix("candor", "Q")
  local svg = qr.svg("candor", { module = 2, margin = 0, level = "Q" })
  t.contains(svg, ('viewBox="0 0 %d %d"'):format(width, width))
  t.contains(svg, ('width="%d" height="%d"'):format(width * 2, width * 2))
  local cells = painted(svg)
  t.eq(cells["0,0"], true, "no quiet zone: the finder starts at 0,0")
  t.eq(rows[1]:sub(1, 1), "1")
  t.neq(qr.svg("candor", { level = "L" }), qr.svg("candor", { level = "H" }))
end)

t.test("a long otpauth URI works", function()
  local uri = totp.uri(totp.new_secret(), ("long.name.%s@example.com"):format(("x"):rep(120)),
    "Candor Performance Reviews for Example Corporation International")
  t.ok(#uri > 250, "long: " .. #uri)
  local width, rows, version = qr.matrix(uri)
  t.ok(version >= 10, "version " .. version)
  local cells, count = painted(qr.svg(uri))
  local dark = 0
  for _, r in ipairs(rows) do dark = dark + select(2, r:gsub("1", "")) end
  t.eq(count, dark)
  t.eq(cells["4,4"], true)
  t.eq(width, #rows)
end)

t.test("text too long for any QR code fails with too_long", function()
  local svg, err = qr.svg(("x"):rep(3000))
  t.eq(svg, nil)
  t.eq(err.code, "too_long")
  local w, err2 = qr.matrix(("x"):rep(3000), "H")
  t.eq(w, nil)
  t.eq(err2.code, "too_long")
  -- the largest version-40 byte payload at level L still fits
  t.ok(qr.svg(("x"):rep(2953), { level = "L" }))
end)

t.test("misuse is refused with a clear error", function()
  t.raises(function() qr.svg("") end, "non-empty")
  t.raises(function() qr.svg("a\0b") end, "NUL")
  t.raises(function() qr.svg("a", { module = 0 }) end, "module")
  t.raises(function() qr.svg("a", { margin = -1 }) end, "margin")
  t.raises(function() qr.svg("a", { level = "X" }) end, "invalid option")
  t.raises(function() qr.matrix("a", "Z") end, "invalid option")
end)
