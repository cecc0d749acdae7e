-- docs/api.md documents every endpoint: each registered /api/ route (and /healthz) appears as
-- "METHOD /path" (path parameters written {id}, {name}).
local t = require "testing"
local app = require "app"
local fs = require "core.fs"

t.test("every API route is documented in docs/api.md", function()
  local doc = assert(fs.read("docs/api.md"), "docs/api.md is missing")
  local missing = {}
  local n = 0
  for _, r in ipairs(app.router:routes()) do
    if r.path:sub(1, 5) == "/api/" or r.path == "/healthz" then
      n = n + 1
      local path = r.path:gsub("{([%w_]+):%a+}", "{%1}")
      if not doc:find(r.method .. " " .. path, 1, true) then missing[#missing + 1] = r.method .. " " .. path end
    end
  end
  table.sort(missing)
  t.ok(n > 50, "routes found: " .. n)
  t.same(missing, {}, "undocumented endpoints")
end)

t.test("docs/api.md names no endpoint that does not exist", function()
  local doc = fs.read("docs/api.md")
  local known = {}
  for _, r in ipairs(app.router:routes()) do known[r.method .. " " .. r.path:gsub("{([%w_]+):%a+}", "{%1}")] = true end
  local stale = {}
  for m, p in doc:gmatch("`(%u+) (/api/[%w%-_/{}%.]+)") do
    p = p:gsub("%?.*$", "")
    if not known[m .. " " .. p] then stale[#stale + 1] = m .. " " .. p end
  end
  t.same(stale, {}, "documented but not served")
end)
