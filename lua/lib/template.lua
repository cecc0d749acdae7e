-- HTML templates with automatic escaping.
--
--   {{ expr }}     the value of expr, HTML-escaped (nil prints nothing)
--   {{{ expr }}}   the value of expr as is: only for HTML the server built (SVG charts, partials)
--   {% code %}     Lua statements: {% for _, p in ipairs(people) do %} ... {% end %}
--   {# comment #}
--
-- Templates live in lua/templates/NAME.html and see the fields of the data table passed to
-- render(), the helpers below (h.*, url, include, ...) and safe globals. Compiled once, cached.
local M = {}

local app_dir
local cache = {}

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

--- Escapes text for HTML (element content and quoted attributes).
function M.escape(v)
  if v == nil then return "" end
  local s = tostring(v)
  if not s:find("[&<>\"']") then return s end
  return (s:gsub("[&<>\"']", ESC))
end

--- Marks a string as already-safe HTML (the {{ }} form then does not escape it).
local SAFE = {}
SAFE.__index = SAFE
SAFE.__tostring = function(s) return s.html end
function M.safe(html) return setmetatable({ html = html }, SAFE) end

local function out_escaped(v)
  if getmetatable(v) == SAFE then return v.html end
  return M.escape(v)
end

local function out_raw(v)
  if v == nil then return "" end
  if getmetatable(v) == SAFE then return v.html end
  return tostring(v)
end

-- Translates template text into Lua source.
local function translate(src, name)
  local code = { "local _out, _n = {}, 0\n" }
  local pos = 1
  local function text(s)
    if s ~= "" then code[#code + 1] = ("_n = _n + 1; _out[_n] = %q\n"):format(s) end
  end
  while true do
    local s, e, open = src:find("({[{%%#])", pos)
    if not s then text(src:sub(pos)) break end
    text(src:sub(pos, s - 1))
    if src:sub(s, s + 2) == "{{{" then
      local close = src:find("}}}", s + 3, true)
      if not close then error(("%s: unclosed {{{"):format(name)) end
      code[#code + 1] = ("_n = _n + 1; _out[_n] = _raw(%s)\n"):format(src:sub(s + 3, close - 1))
      pos = close + 3
    elseif open == "{{" then
      local close = src:find("}}", e + 1, true)
      if not close then error(("%s: unclosed {{"):format(name)) end
      code[#code + 1] = ("_n = _n + 1; _out[_n] = _esc(%s)\n"):format(src:sub(e + 1, close - 1))
      pos = close + 2
    elseif open == "{%" then
      local close = src:find("%}", e + 1, true)
      if not close then error(("%s: unclosed {%%"):format(name)) end
      code[#code + 1] = src:sub(e + 1, close - 1) .. "\n"
      pos = close + 2
      -- a line holding only a statement leaves no blank line behind
      if src:sub(pos, pos) == "\n" then pos = pos + 1 end
    else -- {#
      local close = src:find("#}", e + 1, true)
      if not close then error(("%s: unclosed {#"):format(name)) end
      pos = close + 2
    end
  end
  code[#code + 1] = "return table.concat(_out)\n"
  return table.concat(code)
end

M.helpers = {}     -- filled by lib.page (url, csrf, can, ...)

local safe_globals = {
  ipairs = ipairs, pairs = pairs, tostring = tostring, tonumber = tonumber, type = type,
  string = string, table = table, math = math, os = { date = os.date, time = os.time },
  select = select, next = next, utf8 = utf8,
}

-- Compiling once per render would be slow; keep a compiled chunk per template and give it
-- a fresh environment each call through a wrapper that sets _ENV.
local function compile_cached(src, name)
  local lua_src = "local _ENV = ...\n" .. translate(src, name)
  local chunk, err = load(lua_src, "=" .. name, "t", {})
  if not chunk then error(("template %s: %s"):format(name, err)) end
  return function(data)
    local env = setmetatable({ _esc = out_escaped, _raw = out_raw }, {
      __index = function(_, k)
        local v = data[k]
        if v ~= nil then return v end
        v = M.helpers[k]
        if v ~= nil then return v end
        return safe_globals[k]
      end,
    })
    return chunk(env)
  end
end

--- Compiles template source text; returns fn(data) -> html (tests, generated templates).
M.compile = compile_cached

function M.set_dir(dir) app_dir = dir; cache = {} end

local function load_template(name)
  local fn = cache[name]
  if fn then return fn end
  local path = ("%s/templates/%s.html"):format(app_dir, name)
  local f = io.open(path, "rb")
  if not f then error("no template " .. name) end
  local src = f:read("a")
  f:close()
  fn = compile_cached(src, name)
  cache[name] = fn
  return fn
end

--- Renders templates/NAME.html with data; returns HTML text.
function M.render(name, data)
  return load_template(name)(data or {})
end

--- Renders and marks as safe, for use inside another template: {{ include("x", data) }}.
function M.include(name, data)
  return M.safe(M.render(name, data))
end
M.helpers.include = M.include
M.helpers.safe = M.safe

return M
