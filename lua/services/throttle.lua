-- Throttling of failed attempts with growing delays, per scope and key: an account (from
-- browsers that never signed in to it), an account on a browser that did ("device"), a client
-- address, and 2-step codes (or the password given to change 2-step settings) per user.
local db = require "lib.db"
local errors = require "lib.errors"
local clock = require "core.clock"

local M = {}

-- Failures allowed before delays start, per scope.
local FREE_FAILURES = { account = 5, device = 5, ip = 20, code = 5 }
local MAX_DELAY = 15 * 60

local function throttle_row(scope, key)
  return db.row("SELECT failures, locked_until FROM signin_throttle WHERE scope = ? AND key = ?", scope, key)
end

--- Seconds until scope/key may try again (0 when it may now).
function M.wait_for(scope, key)
  local r = throttle_row(scope, key)
  if not r then return 0 end
  return math.max(0, r.locked_until - clock.now())
end

--- Counts a failure of scope/key; past its free failures the delay doubles, up to 15 minutes.
function M.record_failure(scope, key)
  local now = clock.now()
  local r = throttle_row(scope, key)
  local failures = (r and r.failures or 0) + 1
  local over = failures - FREE_FAILURES[scope]
  local locked = 0
  if over > 0 then locked = now + math.min(MAX_DELAY, 15 * 2 ^ (over - 1)) end
  db.exec([[INSERT INTO signin_throttle(scope, key, failures, last_failure, locked_until) VALUES(?,?,?,?,?)
    ON CONFLICT(scope, key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure,
    locked_until = excluded.locked_until]], scope, key, failures, now, math.floor(locked))
end

--- A success: the count of scope/key starts again.
function M.clear_failures(scope, key)
  db.exec("DELETE FROM signin_throttle WHERE scope = ? AND key = ?", scope, key)
end

--- A wait in words ("40 seconds", "3 minutes").
function M.wait_text(wait)
  return wait >= 90 and (math.ceil(wait / 60) .. " minutes") or (math.ceil(wait) .. " seconds")
end

--- Raises 429 while user_id must wait before trying another 2-step code (or password proof).
function M.check_code_throttle(user_id)
  local wait = M.wait_for("code", tostring(user_id))
  if wait > 0 then
    errors.too_many("Too many wrong codes. Try again in " .. M.wait_text(wait) .. ".", wait)
  end
end

--- Counts a wrong 2-step code (or wrong password proof) for user_id.
function M.code_failed(user_id) M.record_failure("code", tostring(user_id)) end

--- A right code: the count starts again.
function M.code_ok(user_id) M.clear_failures("code", tostring(user_id)) end

return M
