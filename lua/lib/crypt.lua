-- Field encryption for application code. Every encrypted column is registered here once
-- (so `candor rotate-key` can find and re-encrypt all of them) and sealed with associated data
-- naming its table, column and row, so a ciphertext moved to another row or column does not
-- open.
--
--   crypt.register{ table = "answers", column = "value_enc", key = { "review_id", "author", "question_id" } }
--   local blob = crypt.seal("answers", "value_enc", { 12, "self", "q1" }, "text")   -- for db.exec
--   local text = crypt.open("answers", "value_enc", { 12, "self", "q1" }, row.value_enc)
local crypto = require "core.crypto"
local db = require "lib.db"

local M = {}

--- Registered encrypted columns: list of { table=, column=, key = { key column names } }.
M.fields = {}
local by_name = {}

function M.register(spec)
  assert(spec.table and spec.column and type(spec.key) == "table" and #spec.key > 0,
    "crypt.register needs table, column and key columns")
  local name = spec.table .. "." .. spec.column
  if by_name[name] then return by_name[name] end
  M.fields[#M.fields + 1] = spec
  by_name[name] = spec
  return spec
end

local function ad(tbl, column, key)
  local spec = by_name[tbl .. "." .. column]
  assert(spec, "encrypted column not registered: " .. tbl .. "." .. column)
  if type(key) ~= "table" then key = { key } end
  assert(#key == #spec.key, "wrong number of key values for " .. tbl .. "." .. column)
  local parts = {}
  for i, v in ipairs(key) do parts[i] = tostring(v) end
  return tbl .. "." .. column .. ":" .. table.concat(parts, ":")
end
M.ad = ad

--- Encrypts text for table.column at the row identified by key (a value or a list of values
--- in the order of the registered key columns). Returns a db.blob value.
function M.seal(tbl, column, key, plaintext)
  return db.blob(crypto.seal(tbl .. "." .. column, ad(tbl, column, key), plaintext))
end

--- Decrypts; raises (a 500 with a clear log line) when the value does not authenticate.
function M.open(tbl, column, key, blob)
  if blob == nil then return nil end
  local text, err = crypto.open(tbl .. "." .. column, ad(tbl, column, key), blob)
  if not text then
    error(("cannot decrypt %s.%s for row %s: %s"):format(tbl, column, table.concat(
      type(key) == "table" and key or { key }, ":"), err.message))
  end
  return text
end

--- Like open, but returns nil, err instead of raising.
function M.try_open(tbl, column, key, blob)
  return crypto.open(tbl .. "." .. column, ad(tbl, column, key), blob)
end

return M
