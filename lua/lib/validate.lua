-- Input validation: collect every field's problem, then raise one 422 naming them all.
--   local v = validate.new(input)
--   local name = v:text("name", { required = true, max = 120 })
--   local email = v:email("email", { required = true })
--   v:done()   -- raises errors.invalid({ name = "...", email = "..." }) if anything failed
local util = require "lib.util"
local errors = require "lib.errors"

local V = {}
V.__index = V

local M = {}

function M.new(input)
  return setmetatable({ input = input or {}, errors = {}, count = 0 }, V)
end

function V:fail(field, msg)
  if not self.errors[field] then
    self.errors[field] = msg
    self.count = self.count + 1
  end
end

function V:present(field)
  local v = self.input[field]
  return v ~= nil and v ~= "" and v ~= require("lib.json").null
end

--- Text: trimmed; opts: required, max (default 200), min, label.
function V:text(field, opts)
  opts = opts or {}
  local v = self.input[field]
  if v == nil or v == require("lib.json").null then v = "" end
  if type(v) == "number" then v = tostring(v) end
  if type(v) ~= "string" then self:fail(field, "must be text") return nil end
  if not opts.keep_space then v = util.trim(v) end
  if v == "" then
    if opts.required then self:fail(field, (opts.label or "This") .. " is required.") end
    return opts.default
  end
  if not utf8.len(v) then self:fail(field, "must be valid UTF-8 text") return nil end
  local max = opts.max or 200
  if utf8.len(v) > max then self:fail(field, ("must be at most %d characters."):format(max)) return nil end
  if opts.min and utf8.len(v) < opts.min then self:fail(field, ("must be at least %d characters."):format(opts.min)) return nil end
  if not opts.multiline and v:find("[\r\n]") then self:fail(field, "must be on one line.") return nil end
  return v
end

function V:email(field, opts)
  opts = opts or {}
  local v = self:text(field, { required = opts.required, max = 254, label = opts.label or "Email" })
  if v and not util.is_email(v) then self:fail(field, "is not an email address.") return nil end
  return v and v:lower()
end

--- Date "YYYY-MM-DD".
function V:date(field, opts)
  opts = opts or {}
  local v = self:text(field, { required = opts.required, max = 10, label = opts.label })
  if v and not util.parse_date(v) then self:fail(field, "must be a date like 2026-03-31.") return nil end
  return v
end

--- Integer; opts: required, min, max.
function V:int(field, opts)
  opts = opts or {}
  local v = self.input[field]
  if v == nil or v == "" or v == require("lib.json").null then
    if opts.required then self:fail(field, (opts.label or "This") .. " is required.") end
    return nil
  end
  if type(v) == "string" and v:match("^%-?%d+$") then v = math.tointeger(tonumber(v)) end
  if math.type(v) == "float" and v == math.floor(v) then v = math.tointeger(v) end
  if math.type(v) ~= "integer" then self:fail(field, "must be a whole number.") return nil end
  if opts.min and v < opts.min then self:fail(field, ("must be at least %d."):format(opts.min)) return nil end
  if opts.max and v > opts.max then self:fail(field, ("must be at most %d."):format(opts.max)) return nil end
  return v
end

--- Boolean from JSON true/false or form "on"/"1"/"true"; absent -> default (false).
function V:bool(field, default)
  local v = self.input[field]
  if v == nil or v == "" then return default or false end
  if v == true or v == "on" or v == "1" or v == "true" or v == "yes" then return true end
  if v == false or v == "0" or v == "false" or v == "off" or v == "no" then return false end
  self:fail(field, "must be true or false.")
  return nil
end

--- One of choices (list of strings).
function V:choice(field, choices, opts)
  opts = opts or {}
  local v = self.input[field]
  if v == nil or v == "" then
    if opts.required then self:fail(field, (opts.label or "This") .. " is required.") end
    return opts.default
  end
  for _, c in ipairs(choices) do if c == v then return v end end
  self:fail(field, "must be one of: " .. table.concat(choices, ", ") .. ".")
  return nil
end

--- A list of strings (JSON array, or a repeated form field).
function V:list(field, opts)
  opts = opts or {}
  local v = self.input[field]
  if v == nil or v == "" then return {} end
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then self:fail(field, "must be a list.") return nil end
  local out = {}
  for _, x in ipairs(v) do
    if type(x) ~= "string" and not (opts.ints and math.type(tonumber(x)) == "integer") then
      self:fail(field, "must be a list of text.")
      return nil
    end
    out[#out + 1] = opts.ints and math.tointeger(tonumber(x)) or x
  end
  if opts.max and #out > opts.max then self:fail(field, ("at most %d items."):format(opts.max)) return nil end
  return out
end

--- Raises a 422 listing every problem found, if any.
function V:done(message)
  if self.count > 0 then errors.invalid(self.errors, message) end
end

return M
