-- JSON through lua-cjson. Lua cannot tell an empty array from an empty object, so lists are
-- passed through json.array(t): an empty one is encoded as [] (cjson alone would write {}).
local cjson = require "cjson.safe"
local M = {}

cjson.encode_sparse_array(false, 0, 0)
cjson.decode_max_depth(64)
cjson.encode_max_depth(64)

M.null = cjson.null

-- An empty array becomes this sentinel string; encode() turns it into []. Input text never
-- contains NUL (the request layer refuses it), so the sentinel cannot be forged.
local EMPTY = "\0[]"
local EMPTY_JSON = '"\\u0000[]"'

--- Marks t as a list: returns t, or the empty-array sentinel when t is empty.
function M.array(t)
  if t == nil or next(t) == nil then return EMPTY end
  return t
end

--- Encodes v; raises on values JSON cannot hold.
function M.encode(v)
  local s, err = cjson.encode(v)
  if not s then error("json encode: " .. tostring(err), 2) end
  if s:find(EMPTY_JSON, 1, true) then s = s:gsub('"\\u0000%[%]"', "[]") end
  return s
end

-- cjson decodes every number as a float; whole numbers become integers here, so an id read
-- from JSON prints as 21, not 21.0, and compares equal to ids from the database as a key.
local function integers(v, depth)
  if depth > 64 then return v end
  for k, x in pairs(v) do
    local t = type(x)
    if t == "number" then
      local i = math.tointeger(x)
      if i then v[k] = i end
    elseif t == "table" then
      integers(x, depth + 1)
    end
  end
  return v
end

--- Decodes text; returns value or nil, err ({ code = "invalid_json", message = }). Whole numbers
--- come back as integers.
function M.decode(s)
  local v, err = cjson.decode(s)
  if v == nil and err then return nil, { code = "invalid_json", message = err } end
  if type(v) == "table" then integers(v, 0) elseif type(v) == "number" then v = math.tointeger(v) or v end
  return v
end

return M
