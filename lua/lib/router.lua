-- Routes: method + path pattern -> handler, each declaring how the caller must be
-- authenticated and which permission it needs. Registration fails without both (deny by
-- default). Patterns: "/api/users/{id}" ({name} matches one segment; {name:int} digits only,
-- given to the handler as an integer).
local M = {}
M.__index = M

-- Who may call a route.
M.AUTH = {
  public = true,    -- anyone, signed in or not
  user = true,      -- any signed-in employee (not guests)
  any_user = true,  -- any signed-in account, guests included
  guest = true,     -- guests only
}

local METHODS = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true }

function M.new()
  return setmetatable({ static = {}, dynamic = {}, list = {}, tries = {}, found = {}, nfound = 0 }, M)
end

local function compile(path)
  local names, parts, ints = {}, {}, {}
  for seg in path:gmatch("[^/]+") do
    local name, kind = seg:match("^{([%w_]+):?(%a*)}$")
    if name then
      names[#names + 1] = name
      ints[#names] = kind == "int"
      parts[#parts + 1] = kind == "int" and "(%d+)" or "([^/]+)"
    else
      parts[#parts + 1] = seg:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
    end
  end
  return "^/" .. table.concat(parts, "/") .. "$", names, ints
end

--- Adds a route: { method=, path=, auth=, perm=, handler=, [tx=], [csrf=], [name=] }.
--- perm is a permission name checked by the evaluator before the handler runs,
--- "object" when the handler checks each object itself, or "none" for public routes.
function M:add(spec)
  local where = ("%s %s"):format(tostring(spec.method), tostring(spec.path))
  assert(METHODS[spec.method], where .. ": unknown method")
  assert(type(spec.path) == "string" and spec.path:sub(1, 1) == "/", where .. ": path must start with /")
  assert(type(spec.handler) == "function", where .. ": no handler")
  assert(M.AUTH[spec.auth], where .. ": every route must say who may call it (auth = public|user|any_user|guest)")
  assert(type(spec.perm) == "string" and spec.perm ~= "",
    where .. ": every route must name the permission it needs (perm = ..., or \"object\" / \"none\")")
  assert(spec.perm ~= "none" or spec.auth == "public", where .. ": only public routes may need no permission")
  assert(spec.auth ~= "public" or spec.perm == "none", where .. ": a public route cannot need a permission")
  local route = {}
  for k, v in pairs(spec) do route[k] = v end
  if route.tx == nil then route.tx = spec.method ~= "GET" end
  if route.csrf == nil then route.csrf = spec.method ~= "GET" end
  -- session = false: a public route that never looks at who is signed in (health checks) skips
  -- authentication altogether
  assert(spec.session ~= false or spec.auth == "public", where .. ": only public routes can skip the session")
  route.api = spec.path:sub(1, 5) == "/api/"
  if not spec.path:find("{", 1, true) then
    local key = spec.method .. " " .. spec.path
    assert(not self.static[key], where .. ": registered twice")
    self.static[key] = route
    self.found, self.nfound = {}, 0
  else
    route.pattern, route.names, route.ints = compile(spec.path)
    local list = self.dynamic[spec.method] or {}
    list[#list + 1] = route
    self.dynamic[spec.method] = list
    route.order = #list
    -- the trie of the method's patterns, one node per segment: a request walks it instead of
    -- trying every pattern in turn
    self.found, self.nfound = {}, 0 -- (the routes that paths found may change)
    local node = self.tries[spec.method] or { lit = {} }
    self.tries[spec.method] = node
    for seg in spec.path:gmatch("[^/]+") do
      local _, kind = seg:match("^{([%w_]+):?(%a*)}$")
      local field
      if kind then field = kind == "int" and "int" or "any" end
      local nxt
      if field then
        nxt = node[field] or { lit = {} }
        node[field] = nxt
      else
        nxt = node.lit[seg] or { lit = {} }
        node.lit[seg] = nxt
      end
      node = nxt
    end
    if not node.route then node.route = route end
  end
  self.list[#self.list + 1] = route
  return route
end

-- The route registered first among those whose shape fits segs[i..]: a literal segment, a
-- {name:int} one when the segment is digits within the integers' range, a {name} one.
local function walk(node, segs, i)
  local seg = segs[i]
  if not seg then return node.route end
  local best
  local lit = node.lit[seg]
  if lit then best = walk(lit, segs, i + 1) end
  if node.int and not seg:find("%D") and math.tointeger(tonumber(seg)) then
    local r = walk(node.int, segs, i + 1)
    if r and (not best or r.order < best.order) then best = r end
  end
  if node.any then
    local r = walk(node.any, segs, i + 1)
    if r and (not best or r.order < best.order) then best = r end
  end
  return best
end

-- The parameters of path under route, or nil when it does not match. {name:int} comes as an
-- integer; digits past the integers' range match nothing.
local function params_of(route, path)
  local caps = { path:match(route.pattern) }
  if not caps[1] then return nil end
  local params = {}
  for i, name in ipairs(route.names) do
    local v = caps[i]
    if route.ints[i] then
      v = math.tointeger(tonumber(v))
      if not v then return nil end
    end
    params[name] = v
  end
  return params
end

--- Finds the route for method and path: route, params | nil, allowed_methods (for 405).
function M:match(method, path)
  if #path > 1 and path:byte(-1) == 47 then path = path:sub(1, -2) end -- a trailing /
  local lookup = method == "HEAD" and "GET" or method
  local key = lookup .. " " .. path
  local r = self.static[key]
  if r then return r, {} end
  local trie = self.tries[lookup]
  if trie then
    -- the route a path found is kept (2,048 paths at most, then forgotten all at once)
    local route = self.found[key]
    if route == nil then
      local segs, n = {}, 0
      for seg in path:gmatch("[^/]+") do
        n = n + 1
        segs[n] = seg
      end
      route = walk(trie, segs, 1) or false
      if self.nfound >= 2048 then self.found, self.nfound = {}, 0 end
      self.found[key], self.nfound = route, self.nfound + 1
    end
    -- the pattern has the last word (an empty segment, "//", fits no pattern)
    local params = route and params_of(route, path)
    if params then return route, params end
  end
  local allowed = {}
  for m in pairs(METHODS) do
    if m ~= lookup and (self.static[m .. " " .. path] or (function()
      for _, route in ipairs(self.dynamic[m] or {}) do
        if params_of(route, path) then return true end
      end
    end)()) then
      allowed[#allowed + 1] = m
    end
  end
  table.sort(allowed)
  return nil, allowed
end

--- All routes, for the docs check and the admin overview.
function M:routes() return self.list end

return M
