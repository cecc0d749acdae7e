-- A strict XML 1.0 reader for the XML export's scenarios (no dependency): it refuses what is not
-- well-formed (unclosed or crossed elements, a bare & or <, an unknown entity, a repeated
-- attribute, bad UTF-8, a character XML 1.0 forbids, raw or as a reference) and returns the tree:
-- { name, attrs = { name = value }, children = { elements }, text = the element's own text }.
-- Comments, CDATA, processing instructions and a DOCTYPE are refused too: the export writes none.
local M = {}

local NAME = "^[%a_:][%w_:%.%-]*"
local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }

local function allowed(cp)
  return cp == 9 or cp == 10 or cp == 13 or (cp >= 0x20 and cp <= 0xD7FF) or (cp >= 0xE000 and cp <= 0xFFFD)
    or (cp >= 0x10000 and cp <= 0x10FFFF)
end

-- text (character data or an attribute value) with its references replaced; raises on a problem.
local function decode(s, where)
  if s:find("<", 1, true) then error(("a bare < in %s"):format(where), 0) end
  return (s:gsub("&([^;]*);?", function(ref)
    local v = ENTITIES[ref]
    if v then return v end
    local cp = ref:match("^#x(%x+)$")
    cp = cp and tonumber(cp, 16) or tonumber(ref:match("^#(%d+)$") or "")
    if not cp then error(("a bad reference &%s in %s"):format(ref, where), 0) end
    if not allowed(cp) then error(("a reference to a character XML forbids (%d) in %s"):format(cp, where), 0) end
    return utf8.char(cp)
  end))
end

--- The tree of text, or raises with the first problem found.
function M.parse(text)
  if not utf8.len(text) then error("not valid UTF-8", 0) end
  for _, cp in utf8.codes(text) do
    if not allowed(cp) then error(("a character XML 1.0 forbids: U+%04X"):format(cp), 0) end
  end
  local pos = 1
  local decl = text:match("^<%?xml[^?]*%?>", pos)
  if decl then
    if not decl:find('encoding="UTF%-8"') then error("the declaration names no UTF-8 encoding", 0) end
    pos = pos + #decl
  end
  local root, stack = nil, {}
  while true do
    local lt = text:find("<", pos, true)
    local chunk = text:sub(pos, (lt or #text + 1) - 1)
    local top = stack[#stack]
    if top then
      top.text = top.text .. decode(chunk, "the text of <" .. top.name .. ">")
    elseif chunk:find("%S") then
      error("text outside the root element", 0)
    end
    if not lt then break end
    if text:sub(lt, lt + 1) == "</" then
      local name, close = text:match("^</(" .. NAME:sub(2) .. ")%s*>()", lt)
      if not name then error("a bad end tag at " .. lt, 0) end
      if not top or top.name ~= name then error(("</%s> closes <%s>"):format(name, top and top.name or "nothing"), 0) end
      stack[#stack] = nil
      pos = close
    else
      local name, after = text:match("^<(" .. NAME:sub(2) .. ")()", lt)
      if not name then error("markup that is no element at " .. lt .. ": " .. text:sub(lt, lt + 20), 0) end
      local el = { name = name, attrs = {}, children = {}, text = "" }
      local p = after
      while true do
        local n, _, v, nxt = text:match("^%s+(" .. NAME:sub(2) .. ")%s*=%s*(['\"])(.-)%2()", p)
        if not n then break end
        if el.attrs[n] then error(("<%s> repeats the attribute %s"):format(name, n), 0) end
        el.attrs[n] = decode(v, ("the attribute %s of <%s>"):format(n, name))
        p = nxt
      end
      local empty, stop = text:match("^%s*(/?)>()", p)
      if not stop then error(("<%s> is not closed properly: %s"):format(name, text:sub(p, p + 30)), 0) end
      if top then
        top.children[#top.children + 1] = el
      elseif root then
        error("a second root element", 0)
      else
        root = el
      end
      if empty == "" then stack[#stack + 1] = el end
      pos = stop
    end
  end
  if #stack > 0 then error("<" .. stack[#stack].name .. "> is never closed", 0) end
  if not root then error("no root element", 0) end
  return root
end

--- Every element named name under el (el included), in document order.
function M.all(el, name, out)
  out = out or {}
  if el.name == name then out[#out + 1] = el end
  for _, c in ipairs(el.children) do M.all(c, name, out) end
  return out
end

--- The first child of el named name, or nil.
function M.child(el, name)
  for _, c in ipairs(el.children) do
    if c.name == name then return c end
  end
end

--- Every text of the tree joined (to look for a word anywhere).
function M.texts(el, out)
  out = out or {}
  out[#out + 1] = el.text
  for _, v in pairs(el.attrs) do out[#out + 1] = v end
  for _, c in ipairs(el.children) do M.texts(c, out) end
  return out
end

return M
