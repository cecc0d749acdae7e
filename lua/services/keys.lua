-- Master key rotation (`candor rotate-key`): a new key is added to the key file, running servers
-- pick it up (core.crypto reloads the file when it changes), every registered encrypted column
-- (lib/crypt.fields) is re-encrypted under it in small transactions, and once nothing refers
-- to an old key any more the old keys leave the file. Reads keep working throughout: both keys
-- are in the file until the very end, and a server that meets a value sealed with a key it
-- does not know reloads the file.
local crypto = require "core.crypto"
local clock = require "core.clock"
local timer = require "core.timer"
local fs = require "core.fs"
local crypt = require "lib.crypt"
local db = require "lib.db"
local errors = require "lib.errors"

local M = {}

M.BATCH = 250        -- rows per transaction: short write locks, so a running server is not held up
M.WAIT_MS = 2000     -- time for running servers to see the new key file
M.PASSES = 3         -- re-encryption passes when servers keep writing with an old key

-- Waits ms of real time (the loop's cached time can be old after a long stretch of work, so a
-- single timer may fire early: check the monotonic clock and wait again if needed).
local function wait_real(sleep, ms)
  local mono = clock.mono_ms
  local deadline = mono() + ms
  while mono() < deadline do sleep(math.max(1, deadline - mono())) end
end

-- core.crypto notices a changed key file by its modification time (whole seconds): make sure
-- the next save lands in a later second than the file a server loaded.
local function next_second(path, sleep)
  for _ = 1, 20 do
    local st = fs.stat(path)
    if not st or st.mtime < os.time() then return end
    wait_real(sleep, 200)
  end
end

local function save()
  local ok, err = crypto.save_keys()
  if not ok then error(errors.new(500, "keys", err.message), 0) end
end

-- The 4-byte key id at the start of a sealed value (after the version byte), as SQL compares it.
local function id_bytes(id)
  return db.blob(string.char((id >> 24) & 255, (id >> 16) & 255, (id >> 8) & 255, id & 255))
end

local function table_exists(name)
  return db.value("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name) == 1
end

--- How many values of a registered column are not sealed with key id.
function M.stale(spec, id)
  if not table_exists(spec.table) then return 0 end
  return db.value(("SELECT count(*) FROM %s WHERE %s IS NOT NULL AND substr(%s, 2, 4) <> ?")
    :format(spec.table, spec.column, spec.column), id_bytes(id))
end

--- How many values of all registered columns are not sealed with key id.
function M.stale_total(id)
  local n = 0
  for _, spec in ipairs(crypt.fields) do n = n + M.stale(spec, id) end
  return n
end

-- Re-encrypts the values of one column that are not sealed with key id, batch rows per
-- transaction, walking the rows in key order. progress(done, total) after each batch.
-- Returns the number of values re-encrypted.
local function reencrypt(spec, id, batch, progress)
  local keys = spec.key
  local order = table.concat(keys, ", ")
  local total = db.value(("SELECT count(*) FROM %s WHERE %s IS NOT NULL"):format(spec.table, spec.column))
  local select_sql = ("SELECT %s, %s AS candor_value FROM %s WHERE %s IS NOT NULL"):format(order, spec.column,
    spec.table, spec.column)
  local where = {}
  for i, k in ipairs(keys) do where[i] = k .. " = ?" end
  local update_sql = ("UPDATE %s SET %s = ? WHERE %s AND %s = ?"):format(spec.table, spec.column,
    table.concat(where, " AND "), spec.column)
  local after, done, changed = nil, 0, 0
  while true do
    local sql, args = select_sql, {}
    if after then
      sql = sql .. (" AND (%s) > (%s)"):format(order, db.placeholders(#keys))
      args = { table.unpack(after) }
    end
    args[#args + 1] = batch
    local n = db.transaction(function()
      local rows = db.query(sql .. " ORDER BY " .. order .. " LIMIT ?", table.unpack(args))
      for _, r in ipairs(rows) do
        local k = {}
        for i, c in ipairs(keys) do k[i] = r[c] end
        if crypto.key_of(r.candor_value) ~= id then
          local text = crypt.open(spec.table, spec.column, k, r.candor_value)
          local upd = { crypt.seal(spec.table, spec.column, k, text) }
          for i = 1, #k do upd[#upd + 1] = k[i] end
          upd[#upd + 1] = db.blob(r.candor_value) -- only if nobody changed it meanwhile
          changed = changed + db.exec(update_sql, table.unpack(upd))
        end
      end
      if #rows > 0 then
        local last = rows[#rows]
        after = {}
        for i, c in ipairs(keys) do after[i] = last[c] end
      end
      return #rows
    end)
    done = done + n
    if n > 0 then progress(done, math.max(total, done)) end -- rows added meanwhile may pass the count
    if n < batch then break end
  end
  return changed
end

--- Rotates the master key. opts: key_file (required: the data folder's master.key),
--- progress = fn(line), wait_ms (default 2000), batch (rows per transaction), sleep = fn(ms).
--- Returns { key = new id, removed = { old ids }, values = re-encrypted count }. Raises when a
--- value cannot be decrypted (nothing is removed from the key file then).
function M.rotate(opts)
  local path = assert(opts.key_file, "rotate needs the key file")
  local say = opts.progress or function() end
  local sleep = opts.sleep or timer.sleep
  local batch = opts.batch or M.BATCH
  local old = crypto.key_ids()
  next_second(path, sleep)
  local id, err = crypto.add_key()
  if not id then error(errors.new(500, "keys", err.message), 0) end
  save()
  say(("added key %d to %s; key%s %s stay%s until every value is re-encrypted"):format(id, path,
    #old == 1 and "" or "s", table.concat(old, ", "), #old == 1 and "s" or ""))
  local wait_ms = opts.wait_ms or M.WAIT_MS
  if wait_ms > 0 then
    say(("waiting %.1f s for running servers to load the new key"):format(wait_ms / 1000))
    wait_real(sleep, wait_ms)
  end
  local changed, left = 0, 0
  for pass = 1, M.PASSES do
    for _, spec in ipairs(crypt.fields) do
      if table_exists(spec.table) then
        local name = spec.table .. "." .. spec.column
        changed = changed + reencrypt(spec, id, batch, function(done, total)
          say(("%s: %d/%d (%d%%)"):format(name, done, total, total > 0 and (done * 100 // total) or 100))
        end)
      end
    end
    left = M.stale_total(id)
    if left == 0 then break end
    say(("%d value%s written with an old key meanwhile: pass %d"):format(left, left == 1 and " was" or "s were",
      pass + 1))
  end
  if left > 0 then
    error(errors.new(500, "keys", ("%d values still use an old key; the old keys stay in the key file. Run "
      .. "`candor rotate-key` again when the servers are quieter."):format(left)), 0)
  end
  say(("verified: every encrypted value uses key %d"):format(id))
  for _, old_id in ipairs(old) do crypto.remove_key(old_id) end
  next_second(path, sleep)
  save()
  say(("removed key%s %s from the key file"):format(#old == 1 and "" or "s", table.concat(old, ", ")))
  return { key = id, removed = old, values = changed }
end

--- `candor rotate-key [--data DIR]`: rotates with progress lines; exit status 0 or 1.
function M.rotate_cli(app)
  local function say(line)
    io.stdout:write(line, "\n")
    io.stdout:flush()
  end
  local ok, res = pcall(M.rotate, { key_file = app.data_dir .. "/master.key", progress = say })
  if not ok then
    io.stderr:write("candor: key rotation failed: ", errors.is(res) and res.message or tostring(res), "\n")
    return 1
  end
  say(("done: %d value%s re-encrypted under key %d"):format(res.values, res.values == 1 and "" or "s", res.key))
  return 0
end

return M
