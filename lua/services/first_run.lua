-- The first run of a new company's Candor (`candor serve` on an empty data folder, without
-- --demo): while nobody has an account, the server prints a one-time set-up code at start, and
-- the page /setup, given that code, creates the first person: a super user (HR Admin + Tech
-- Admin) with the password they choose. Once anybody exists it is closed for good. The code
-- lives only in this process (a restart prints a new one) and is never logged.
local db = require "lib.db"
local crypto = require "core.crypto"
local errors = require "lib.errors"
local schema = require "lib.schema"
local util = require "lib.util"
local people = require "services.people"
local accounts = require "services.accounts"
local audit = require "services.audit"

local M = {}

local B32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" -- no 0/O, 1/I: read off a terminal
local code = nil -- this process's set-up code, without its dashes (nil: none issued)

--- True while nobody has an account yet.
function M.needed()
  return db.value("SELECT 1 FROM users LIMIT 1") == nil
end

--- True while a set-up code waits to be used (and nobody has an account).
function M.waiting()
  return code ~= nil and M.needed()
end

--- A new set-up code ("ABCD-EFGH-JKLM-NPQR") replacing any earlier one, or nil when someone
--- has an account already.
function M.open()
  code = nil
  if not M.needed() then return nil end
  local bytes, chars = crypto.random(16), {}
  for i = 1, 16 do
    local k = bytes:byte(i) % 32 + 1
    chars[i] = B32:sub(k, k)
  end
  code = table.concat(chars)
  return code:gsub("(....)", "%1-"):sub(1, -2)
end

local FORM = schema.record{ strict = false, fields = {
  { name = schema.text{ required = true, max = 120, label = "Name" } },
  { email = schema.email{ required = true } },
} }

--- Creates the first person from input { code, name, email, password, password_again }: a
--- super user, active, with that password. Raises 404 once someone exists (or no code was
--- issued), 422 naming the fields with a problem (a wrong code among them). Returns the user.
--- Must not be called inside a transaction (the password is hashed off the event loop).
function M.create(input, req)
  if not code or not M.needed() then errors.not_found("Candor is set up already: sign in.") end
  local problems = {}
  local given = util.trim(tostring(input.code or "")):upper():gsub("[%s%-]", "")
  if not crypto.equal(given, code) then
    problems.code = "This is not the set-up code printed when Candor started. Copy it from there."
  end
  local v, errs = schema.validate(FORM, input, { coerce = true, messages = schema.SENTENCES })
  for k, m in pairs(v and {} or schema.by_field(errs)) do problems[k] = m end
  local ok, weak = accounts.check_password(input.password, v and { email = v.email, name = v.name })
  if not ok then problems.password = weak.message end
  if ok and input.password ~= input.password_again then problems.password_again = "The two passwords differ." end
  if next(problems) then errors.invalid(problems) end
  local user = db.transaction(function()
    if not M.needed() then errors.not_found("Candor is set up already: sign in.") end
    local u = people.insert(people.OPERATOR, { name = v.name, email = v.email:lower() }, "employee", nil, req,
      { first_run = true })
    people.set_roles(people.OPERATOR, u.id, { "hr_admin", "tech_admin" }, req, { first_run = true })
    audit.record{ action = "setup.first_person", actor_id = u.id, actor_label = u.email, req = req,
      target_type = "user", target_id = u.id, target_label = u.email }
    return u
  end)
  code = nil -- used: nobody else may use it
  accounts.set_password(user.id, input.password)
  return people.get(user.id)
end

return M
