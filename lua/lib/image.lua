-- Uploaded images (badge pictures): checked by their content, never by a name or a claimed type.
--   image.check(bytes) -> { type = "image/png" | "image/jpeg" | "image/svg+xml", width =, height =,
--                           data = (what to store: the PNG/JPEG as sent, an SVG re-written) }
--                       | nil, err ({ code = "invalid_image", message = a sentence for the uploader })
-- PNG and JPEG: the signature, a well-formed chunk/segment structure, dimensions within bounds and
-- nothing after the end marker (a PNG that is really HTML, or has HTML appended, is refused).
-- SVG: parsed and re-written from an allow-list of elements and attributes; a script, an event
-- handler, foreignObject, a DOCTYPE or entity, a reference to anything outside the image
-- (href, url(...), @import) is refused with the reason, so nothing unsafe is ever stored.
local M = {}

M.MAX_BYTES = 512 * 1024
M.MAX_SIDE = 2048

local function u32(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local function u16(s, i)
  local a, b = s:byte(i, i + 1)
  return a * 256 + b
end

local function sides_ok(w, h)
  if not w or w < 1 or h < 1 then return nil, "The image has no size." end
  if w > M.MAX_SIDE or h > M.MAX_SIDE then
    return nil, ("The image is %dx%d pixels; at most %dx%d please."):format(w, h, M.MAX_SIDE, M.MAX_SIDE)
  end
  return true
end

local PNG_SIG = "\137PNG\r\n\26\n"

local function png(s)
  if #s < 8 + 25 + 12 then return nil, "The PNG file is cut short." end
  if s:sub(13, 16) ~= "IHDR" or u32(s, 9) ~= 13 then return nil, "The PNG file has no header chunk." end
  local w, h = u32(s, 17), u32(s, 21)
  local i = 9
  while true do
    if i + 11 > #s then return nil, "The PNG file is cut short." end
    local len, kind = u32(s, i), s:sub(i + 4, i + 7)
    if not kind:match("^%a%a%a%a$") then return nil, "The PNG file is damaged." end
    local after = i + 12 + len
    if after - 1 > #s then return nil, "The PNG file is cut short." end
    if kind == "IEND" then
      if after - 1 ~= #s then return nil, "The PNG file has data after its end." end
      break
    end
    i = after
  end
  local ok, err = sides_ok(w, h)
  if not ok then return nil, err end
  return { type = "image/png", width = w, height = h, data = s }
end

local function jpeg(s)
  if s:sub(-2) ~= "\255\217" then return nil, "The JPEG file is cut short or has data after its end." end
  local i = 3
  while i + 3 <= #s do
    if s:byte(i) ~= 0xFF then return nil, "The JPEG file is damaged." end
    local marker = s:byte(i + 1)
    if marker == 0xD8 or (marker >= 0xD0 and marker <= 0xD7) or marker == 0x01 or marker == 0xFF then
      i = i + 2
    else
      local len = u16(s, i + 2)
      if len < 2 then return nil, "The JPEG file is damaged." end
      if marker >= 0xC0 and marker <= 0xCF and marker ~= 0xC4 and marker ~= 0xC8 and marker ~= 0xCC then
        if i + 8 > #s then return nil, "The JPEG file is cut short." end
        local h, w = u16(s, i + 5), u16(s, i + 7)
        local ok, err = sides_ok(w, h)
        if not ok then return nil, err end
        return { type = "image/jpeg", width = w, height = h, data = s }
      end
      if marker == 0xDA then break end
      i = i + 2 + len
    end
  end
  return nil, "The JPEG file has no frame header."
end

-- ---------------------------------------------------------------- SVG

local ELEMENTS = {}
for name in ([[svg g path circle ellipse rect line polyline polygon text tspan title desc defs
  linearGradient radialGradient stop clipPath symbol use]]):gmatch("%S+") do ELEMENTS[name] = true end

local ATTRIBUTES = {}
for name in ([[id viewBox width height x y x1 y1 x2 y2 cx cy r rx ry fx fy d points fill stroke
  stroke-width stroke-linecap stroke-linejoin stroke-miterlimit stroke-dasharray stroke-dashoffset
  opacity fill-opacity stroke-opacity fill-rule clip-rule transform offset stop-color stop-opacity
  gradientUnits gradientTransform spreadMethod clipPathUnits font-size font-family font-weight font-style
  text-anchor dominant-baseline letter-spacing xmlns xmlns:xlink version preserveAspectRatio href xlink:href
  clip-path role aria-label aria-hidden style display visibility]]):gmatch("%S+") do
  ATTRIBUTES[name] = true
end

local REFUSED = { script = "a script", foreignObject = "foreignObject (embedded HTML)",
  iframe = "an embedded frame", image = "an embedded or external image", a = "a link",
  animate = "an animation", set = "an animation", style = "a style sheet" }

-- url(...) that points outside the image
local function external_url(v)
  for inner in v:gmatch("[Uu][Rr][Ll]%s*%(([^)]*)%)") do
    inner = inner:gsub("^%s*['\"]?", ""):gsub("['\"]?%s*$", "")
    if inner:sub(1, 1) ~= "#" then return true end
  end
  return false
end

local ENT = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }

local function unescape(s)
  local bad
  local out = s:gsub("&([^;]*);", function(e)
    if ENT[e] then return ENT[e] end
    local n = e:match("^#x(%x+)$")
    n = n and tonumber(n, 16) or tonumber(e:match("^#(%d+)$") or "")
    if n and n > 0 and n < 0x110000 then return utf8.char(n) end
    bad = e
    return ""
  end)
  if bad then return nil, "an unknown entity &" .. bad .. ";" end
  if out:find("&", 1, true) then return nil, "a stray &" end
  return out
end

local function esc(s)
  return (s:gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

-- Parses the attributes in s: list of { name, value } or nil, problem.
local function attributes(s, tag)
  local list, seen, pos = {}, {}, 1
  while true do
    local ws, name, q, stop = s:match("^(%s*)([%w:_%-%.]+)%s*=%s*(['\"])()", pos)
    if not name then
      if s:sub(pos):match("^%s*$") then break end
      return nil, ("a malformed attribute in <%s>"):format(tag)
    end
    if ws == "" and pos > 1 then return nil, ("a malformed attribute in <%s>"):format(tag) end
    local close = s:find(q, stop, true)
    if not close then return nil, ("an unclosed attribute in <%s>"):format(tag) end
    local raw = s:sub(stop, close - 1)
    if raw:find("<", 1, true) then return nil, ("a \"<\" in an attribute of <%s>"):format(tag) end
    local value, err = unescape(raw)
    if not value then return nil, err end
    local lname = name:lower()
    if lname:sub(1, 2) == "on" then return nil, ("an event handler (%s) in <%s>"):format(name, tag) end
    if not ATTRIBUTES[name] then return nil, ("the attribute %s in <%s>"):format(name, tag) end
    if seen[name] then return nil, ("the attribute %s twice in <%s>"):format(name, tag) end
    seen[name] = true
    if (name == "href" or name == "xlink:href") and value:sub(1, 1) ~= "#" then
      return nil, ("a reference to something outside the image (%s) in <%s>"):format(name, tag)
    end
    if external_url(value) then return nil, ("a reference to something outside the image in <%s>"):format(tag) end
    local lv = value:lower()
    if lv:find("javascript:", 1, true) or lv:find("@import", 1, true) or lv:find("expression", 1, true)
      or value:find("\\", 1, true) then
      return nil, ("an unsafe value in an attribute of <%s>"):format(tag)
    end
    list[#list + 1] = { name, value }
    pos = close + 1
  end
  return list
end

local function svg(s)
  if not utf8.len(s) then return nil, "The SVG file is not UTF-8 text." end
  s = s:gsub("^\239\187\191", "")
  local out, stack, pos, root_seen = {}, {}, 1, false
  local n = #s
  while pos <= n do
    local lt = s:find("<", pos, true)
    local text = s:sub(pos, (lt or n + 1) - 1)
    if text:find(">", 1, true) then return nil, "The SVG file is malformed (a stray \">\")." end
    if not text:match("^%s*$") then
      if #stack == 0 then return nil, "The SVG file has text outside its <svg> element." end
      local t, err = unescape(text)
      if not t then return nil, "The SVG file has " .. err .. "." end
      out[#out + 1] = esc(t)
    end
    if not lt then break end
    if s:sub(lt, lt + 3) == "<!--" then
      local e = s:find("-->", lt + 4, true)
      if not e then return nil, "The SVG file has an unclosed comment." end
      pos = e + 3
    elseif s:sub(lt, lt + 1) == "<?" then
      local e = s:find("?>", lt + 2, true)
      if not e or not s:sub(lt, e + 1):match("^<%?xml%s") or root_seen or #out > 0 then
        return nil, "The SVG file has a processing instruction."
      end
      pos = e + 2
    elseif s:sub(lt, lt + 1) == "<!" then
      return nil, "The SVG file has a DOCTYPE, an entity or CDATA, which are not allowed."
    elseif s:sub(lt, lt + 1) == "</" then
      local name, e = s:match("^</([%w:_%-]+)%s*>()", lt)
      if not name then return nil, "The SVG file is malformed (a bad closing tag)." end
      if stack[#stack] ~= name then return nil, ("The SVG file is malformed (</%s> closes nothing open)."):format(name) end
      stack[#stack] = nil
      out[#out + 1] = "</" .. name .. ">"
      pos = e
    else
      local name, rest, e = s:match("^<([%w:_%-]+)([^>]*)>()", lt)
      if not name then return nil, "The SVG file is malformed (a bad tag)." end
      local self_closing = rest:sub(-1) == "/"
      if self_closing then rest = rest:sub(1, -2) end
      if rest:find("<", 1, true) then return nil, "The SVG file is malformed." end
      local local_name = name:match(":(.*)$") or name
      if REFUSED[local_name] or REFUSED[name:lower()] then
        return nil, ("The SVG file contains %s, which is not allowed."):format(REFUSED[local_name] or REFUSED[name:lower()])
      end
      if not ELEMENTS[name] then return nil, ("The SVG file contains the element <%s>, which is not allowed."):format(name) end
      if #stack == 0 then
        if name ~= "svg" or root_seen then return nil, "The file is not an SVG image (its root is not <svg>)." end
        root_seen = true
      end
      local attrs, err = attributes(rest, name)
      if not attrs then return nil, "The SVG file contains " .. err .. ", which is not allowed." end
      local parts = { "<" .. name }
      for _, a in ipairs(attrs) do parts[#parts + 1] = (' %s="%s"'):format(a[1], esc(a[2])) end
      out[#out + 1] = table.concat(parts) .. (self_closing and "/>" or ">")
      if not self_closing then stack[#stack + 1] = name end
      pos = e
    end
    if root_seen and #stack == 0 and pos <= n and not s:sub(pos):match("^%s*$") then
      local rest = s:sub(pos)
      if not rest:match("^%s*<!%-%-.-%-%->%s*$") then return nil, "The SVG file has something after its <svg> element." end
      break
    end
  end
  if not root_seen then return nil, "The file is not an SVG image." end
  if #stack > 0 then return nil, ("The SVG file is malformed (<%s> is not closed)."):format(stack[#stack]) end
  return { type = "image/svg+xml", data = table.concat(out) }
end

local function check(bytes)
  if type(bytes) ~= "string" or #bytes == 0 then return nil, "Choose an image file." end
  if #bytes > M.MAX_BYTES then
    return nil, ("The image is %d KB; at most %d KB please."):format(math.ceil(#bytes / 1024), M.MAX_BYTES // 1024)
  end
  if bytes:sub(1, 8) == PNG_SIG then return png(bytes) end
  if bytes:sub(1, 3) == "\255\216\255" then return jpeg(bytes) end
  local head = bytes:sub(1, 512):gsub("^\239\187\191", ""):gsub("^%s+", "")
  if head:sub(1, 1) == "<" and (bytes:find("<svg", 1, true)) then return svg(bytes) end
  return nil, "This is not a PNG, JPEG or SVG image."
end

--- Checks bytes as an image (see the top of this file).
function M.check(bytes)
  local img, why = check(bytes)
  if not img then return nil, { code = "invalid_image", message = why } end
  return img
end

return M
