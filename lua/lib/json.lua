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

--- Decodes text; returns value or nil, message.
function M.decode(s)
  local v, err = cjson.decode(s)
  if v == nil and err then return nil, err end
  return v
end

return M
