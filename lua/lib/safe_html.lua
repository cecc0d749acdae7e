-- The HTML of a mail as admins may look at it in a page: reduced to a few harmless tags.
local M = {}

local ALLOWED = { p = true, br = true, a = true, strong = true, em = true, b = true, i = true, ul = true,
  ol = true, li = true, blockquote = true }
local DROP_CONTENT = { script = true, style = true, title = true, head = true }

--- The body of a mail's HTML reduced to simple tags (p, br, a with http(s)/mailto links, lists,
--- emphasis): no scripts, styles, attributes or other elements; everything else is text.
function M.clean(html)
  if type(html) ~= "string" then return "" end
  html = html:gsub("<!%-%-.-%-%->", ""):gsub("<![^>]*>", "")
  local out, pos, skip = {}, 1, nil
  while true do
    local s, e, slash, tag, attrs = html:find("<(/?)(%a%w*)([^<>]*)>", pos)
    if not skip then
      out[#out + 1] = html:sub(pos, (s or #html + 1) - 1):gsub("[<>]", { ["<"] = "&lt;", [">"] = "&gt;" })
    end
    if not s then break end
    tag = tag:lower()
    if skip then
      if slash == "/" and tag == skip then skip = nil end
    elseif DROP_CONTENT[tag] and slash == "" then
      skip = tag
    elseif ALLOWED[tag] then
      if slash == "/" then
        if tag ~= "br" then out[#out + 1] = "</" .. tag .. ">" end
      elseif tag == "a" then
        local href = attrs:match('href%s*=%s*"([^"]*)"') or attrs:match("href%s*=%s*'([^']*)'")
        if href and (href:match("^https?://") or href:match("^mailto:")) and not href:find("[<>\"'`]") then
          out[#out + 1] = '<a href="' .. href .. '" rel="noopener noreferrer nofollow">'
        else
          out[#out + 1] = "<a>"
        end
      else
        out[#out + 1] = "<" .. tag .. ">"
      end
    end
    pos = e + 1
  end
  return table.concat(out)
end

return M
