-- Charts drawn by the server as SVG (no scripts, no inline styles: classes from candor.css
-- and presentation attributes only, so the strict CSP holds).
local template = require "lib.template"

local M = {}
local esc = template.escape

--- A vertical bar chart: bars = { { label =, value =, note = } }. Returns safe HTML.
function M.bars(bars, opts)
  opts = opts or {}
  local w, h = opts.width or 560, opts.height or 240
  local left, bottom, top = 36, 56, 16
  local max = 0
  for _, b in ipairs(bars) do if b.value > max then max = b.value end end
  -- a whole-number scale with 2..5 steps: 1, 2, 5, 10, 20, 50, ... per step
  local step = 1
  while max / step > 5 do
    step = step * ((tostring(step):sub(1, 1) == "2") and 2.5 or 2)
  end
  local steps = math.max(1, math.ceil(max / step))
  local scale_max = step * steps
  local n = math.max(1, #bars)
  local slot = (w - left - 8) / n
  local bw = math.min(64, slot * 0.6)
  local out = { ('<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">')
    :format(w, h, opts.id or "chart", opts.id or "chart"),
    ('<title id="%s-t">%s</title>'):format(opts.id or "chart", esc(opts.title or "Chart")),
    ('<desc id="%s-d">%s</desc>'):format(opts.id or "chart", esc(M.describe(bars))) }
  local plot_h = h - bottom - top
  -- grid lines and the value axis
  for i = 0, steps do
    local v = step * i
    local y = top + plot_h - plot_h * i / steps
    out[#out + 1] = ('<line class="axis" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke-width="1"/>'):format(left, y, w - 4, y)
    out[#out + 1] = ('<text x="%d" y="%.1f" text-anchor="end" font-size="11">%s</text>'):format(left - 6, y + 4,
      (v == math.floor(v)) and ("%d"):format(v) or ("%.1f"):format(v))
  end
  for i, b in ipairs(bars) do
    local x = left + slot * (i - 1) + (slot - bw) / 2
    local bh = plot_h * b.value / scale_max
    local y = top + plot_h - bh
    out[#out + 1] = ('<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3"><title>%s: %d</title></rect>')
      :format(x, y, bw, bh, esc(b.label), b.value)
    out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="12" font-weight="600">%d</text>')
      :format(x + bw / 2, y - 4, b.value)
    out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle" font-size="12">%s</text>')
      :format(x + bw / 2, h - bottom + 18, esc(b.short or b.label))
    if b.note then
      out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle" font-size="10" fill="#6b7280">%s</text>')
        :format(x + bw / 2, h - bottom + 34, esc(b.note))
    end
  end
  out[#out + 1] = "</svg>"
  return template.safe(table.concat(out))
end

--- How answers spread over the points of a scale or the options of a choice: one row per
--- option (label, a bar, the count), compact enough for a phone. rows = { { label =, value = } }.
function M.distribution(rows, opts)
  opts = opts or {}
  local id = opts.id or "dist"
  local w, row_h, label_w = 480, 26, 190
  local max = 0
  for _, r in ipairs(rows) do if r.value > max then max = r.value end end
  local h = #rows * row_h + 4
  local out = { ('<svg class="chart distribution" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">')
    :format(w, h, id, id),
    ('<title id="%s-t">%s</title>'):format(id, esc(opts.title or "Answers")),
    ('<desc id="%s-d">%s</desc>'):format(id, esc(M.describe(rows))) }
  local bar_w = w - label_w - 44
  for i, r in ipairs(rows) do
    local y = (i - 1) * row_h + 2
    local label = r.label
    if utf8.len(label) and utf8.len(label) > 28 then label = label:sub(1, utf8.offset(label, 28) - 1) .. "…" end
    out[#out + 1] = ('<text x="0" y="%d" font-size="13" dominant-baseline="middle">%s</text>'):format(y + 11, esc(label))
    out[#out + 1] = ('<rect x="%d" y="%d" width="%d" height="16" rx="3" fill="#eef0f4"/>'):format(label_w, y + 3, bar_w)
    if r.value > 0 then
      out[#out + 1] = ('<rect class="bar" x="%d" y="%d" width="%.1f" height="16" rx="3"><title>%s: %d</title></rect>')
        :format(label_w, y + 3, bar_w * r.value / math.max(max, 1), esc(r.label), r.value)
    end
    out[#out + 1] = ('<text x="%d" y="%d" font-size="13" font-weight="600" dominant-baseline="middle">%d</text>')
      :format(label_w + bar_w + 8, y + 11, r.value)
  end
  out[#out + 1] = "</svg>"
  return template.safe(table.concat(out))
end

--- A sentence describing a bar chart for screen readers.
function M.describe(bars)
  local parts = {}
  for _, b in ipairs(bars) do parts[#parts + 1] = ("%s: %d"):format(b.label, b.value) end
  return table.concat(parts, "; ")
end

--- The 2D graph: a plot area with two named axes and, if given, the point (x, y in 0..100) of the
--- person looking, and others' points next to it (others = { { x =, y =, label = } }, drawn in
--- grey). With inputs, a click places the point (candor.js) and the hidden fields carry it;
--- without JS the two number fields next to it do the same. A legend names the dots when there
--- are others (label: the looker's dot, default "You").
function M.graph(opts)
  local w, h = 360, 320
  local px, py, pw, ph = 48, 16, 296, 256
  local id = opts.id or "graph"
  local others = opts.others or {}
  local out = { ('<svg class="chart graph" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t" xmlns="http://www.w3.org/2000/svg"')
    :format(w, h + (#others > 0 and 22 or 0), id) }
  if opts.x_input then
    out[#out + 1] = (' data-graph="1" data-x-input="%s" data-y-input="%s"'):format(esc(opts.x_input), esc(opts.y_input))
  end
  out[#out + 1] = ">"
  out[#out + 1] = ('<title id="%s-t">%s</title>'):format(id, esc(opts.title or "2D graph"))
  out[#out + 1] = ('<rect data-plot="1" x="%d" y="%d" width="%d" height="%d" fill="#f8fafc" stroke="#d1d5db"/>'):format(px, py, pw, ph)
  out[#out + 1] = ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e5e7eb" stroke-dasharray="4 4"/>'):format(px + pw / 2, py, px + pw / 2, py + ph)
  out[#out + 1] = ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e5e7eb" stroke-dasharray="4 4"/>'):format(px, py + ph / 2, px + pw, py + ph / 2)
  out[#out + 1] = ('<text x="%d" y="%d" text-anchor="middle" font-size="13" font-weight="600">%s →</text>')
    :format(px + pw / 2, py + ph + 36, esc(opts.x_label))
  out[#out + 1] = ('<text x="%d" y="%d" text-anchor="middle" font-size="13" font-weight="600" transform="rotate(-90 %d %d)">%s →</text>')
    :format(18, py + ph / 2, 18, py + ph / 2, esc(opts.y_label))
  out[#out + 1] = ('<text x="%d" y="%d" font-size="10" fill="#6b7280">low</text>'):format(px, py + ph + 14)
  out[#out + 1] = ('<text x="%d" y="%d" font-size="10" fill="#6b7280" text-anchor="end">high</text>'):format(px + pw, py + ph + 14)
  local function at(x, y) return px + x / 100 * pw, py + ph - y / 100 * ph end
  -- the others' dots first, so the looker's (which a click moves) stays on top
  for _, o in ipairs(others) do
    local cx, cy = at(o.x, o.y)
    out[#out + 1] = ('<circle class="graph-dot graph-dot-other" cx="%.1f" cy="%.1f" r="8" fill="#9ca3af" stroke="#fff" '
      .. 'stroke-width="3"><title>%s</title></circle>'):format(cx, cy, esc(o.label))
  end
  local has = opts.x ~= nil and opts.y ~= nil
  local cx, cy = at(has and opts.x or 50, has and opts.y or 50)
  out[#out + 1] = ('<circle class="graph-dot" data-marker="1" cx="%.1f" cy="%.1f" r="9" fill="#4338ca" stroke="#fff" stroke-width="3"%s/>')
    :format(cx, cy, has and "" or ' visibility="hidden" hidden="hidden"')
  if #others > 0 then
    -- the legend, under the axis name
    local lx, ly = px, h + 12
    out[#out + 1] = ('<circle cx="%d" cy="%d" r="6" fill="#4338ca"/><text x="%d" y="%d" font-size="12">%s</text>')
      :format(lx + 6, ly - 4, lx + 16, ly, esc(opts.label or "You"))
    lx = lx + 110
    for _, o in ipairs(others) do
      out[#out + 1] = ('<circle cx="%d" cy="%d" r="6" fill="#9ca3af"/><text x="%d" y="%d" font-size="12">%s</text>')
        :format(lx + 6, ly - 4, lx + 16, ly, esc(o.label))
      lx = lx + 150
    end
  end
  out[#out + 1] = "</svg>"
  return template.safe(table.concat(out))
end

return M
