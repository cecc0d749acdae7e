-- Helpers for the encryption-at-rest tests (not a scenario itself: it registers no tests).
-- Load it from a scenario in this folder:
--
--   local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "canary_lib.lua")
--   local dir = canary.file_backed()          -- the app now runs on files in a temp folder
--   canary.check{ dir = dir, write = function()
--     -- write a confidential text through the API, return the sentence(s) to look for
--     local c = t.login(demo.email("zoe"))
--     t.status(c:put("/api/reviews/1/answers", { q1 = "The canary sings at midnight" }), 200)
--     return "The canary sings at midnight"
--   end }
--   canary.swap_check{ table = "answers", column = "value_enc", a = { 1, "self", "q1" }, b = { 2, "self", "q1" } }
--   canary.cleanup(dir)
--
-- check() also writes a plain-text marker into a non-confidential field (a job title) through
-- the API and requires it to be found in the very same files, so the search cannot pass by
-- looking in the wrong place.
local t = require "testing"
local app = require "app"
local core_db = require "core.db"
local crypto = require "core.crypto"
local db = require "lib.db"
local crypt = require "lib.crypt"

local M = {}

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.sh_quote = sh_quote

--- The candor binary running this test (to start `candor ...` commands as child processes).
function M.candor_binary()
  local p = io.popen("readlink /proc/" .. (io.open("/proc/self/stat"):read("n")) .. "/exe")
  local path = p:read("l")
  p:close()
  return path
end

--- Runs a shell command; returns exit status, stdout, stderr.
function M.run(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local ok, how, code = os.execute(cmd .. " >" .. sh_quote(out) .. " 2>" .. sh_quote(err))
  local function slurp_rm(p)
    local f = io.open(p, "rb")
    local s = f and f:read("a") or ""
    if f then f:close() end
    os.remove(p)
    return s
  end
  local status = ok and 0 or (how == "exit" and code or 128 + (code or 0))
  return status, slurp_rm(out), slurp_rm(err)
end

--- The bytes of a file ("" when it does not exist).
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

--- Moves this test's app onto a new data folder in a temp dir: a database file (WAL) and a
--- master key file, migrated, with the demo company unless opts.demo == false. Returns the dir.
function M.file_backed(opts)
  opts = opts or {}
  local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/candor-security.XXXXXX\"")
  local dir = p:read("l")
  p:close()
  assert(dir and dir ~= "", "mktemp failed")
  assert(crypto.load_keys(dir .. "/master.key", true))
  assert(core_db.open(dir .. "/candor.db"))
  assert(core_db.migrate(app.app_dir .. "/migrations"))
  require("services.settings").reset_cache()
  require("services.access").reload()
  if opts.demo ~= false then t.demo() end
  return dir
end

--- Removes a folder made by file_backed.
function M.cleanup(dir)
  if dir and dir:match("candor%-security%.") then os.execute("rm -rf " .. sh_quote(dir)) end
end

local function found(haystack, needle) return haystack:find(needle, 1, true) ~= nil end

-- The default control: an HR Admin writes a marker into Zoe's job title through the API.
local function write_control()
  local demo = require "demo"
  local marker = "Control-" .. crypto.hex(crypto.random(6))
  local zoe = db.value("SELECT id FROM users WHERE email = ?", demo.email("zoe"))
  local hr = t.login(demo.email("marcus"))
  t.status(hr:patch("/api/users/" .. zoe, { job_title = marker }), 200)
  return marker
end

--- Writes confidential text through the API and checks it is nowhere in plain text: not in
--- the WAL (before a checkpoint), not in the database file (after one), not in a backup.
--- opts: dir (from file_backed), write = fn() -> sentence or list of sentences (required),
--- control = fn() -> plain marker written through the API into a non-confidential field.
--- Returns { canaries =, sizes = { wal =, db =, backup = } }.
function M.check(opts)
  local dir = assert(opts.dir, "check needs dir")
  local marker = (opts.control or write_control)()
  local written = assert(opts.write, "check needs write")()
  local canaries = type(written) == "table" and written or { written }
  assert(#canaries > 0, "write returned no sentence to look for")
  for _, c in ipairs(canaries) do
    t.ok(type(c) == "string" and #c >= 12, "a canary must be a sentence of 12 or more bytes")
  end
  local sizes = {}
  -- 1. the WAL, before anything is checkpointed
  local wal = M.read(dir .. "/candor.db-wal")
  sizes.wal = #wal
  t.ok(found(wal, marker), "the plain-text control was written to the WAL (the search looks in the right place)")
  for _, c in ipairs(canaries) do t.no(found(wal, c), ("the WAL holds %q in plain text"):format(c)) end
  -- 2. the database file, after a checkpoint moved everything into it
  t.ok(core_db.checkpoint(), "checkpoint")
  local file = M.read(dir .. "/candor.db")
  sizes.db = #file
  t.ok(found(file, marker), "the control is in the database file after the checkpoint")
  for _, c in ipairs(canaries) do t.no(found(file, c), ("the database file holds %q in plain text"):format(c)) end
  -- 3. a backup made by core.db.backup
  local backup = dir .. "/backup-" .. crypto.hex(crypto.random(4)) .. ".db"
  t.ok(core_db.backup(backup), "backup")
  local copy = M.read(backup)
  sizes.backup = #copy
  t.ok(found(copy, marker), "the control is in the backup")
  for _, c in ipairs(canaries) do t.no(found(copy, c), ("the backup holds %q in plain text"):format(c)) end
  os.remove(backup)
  return { canaries = canaries, sizes = sizes }
end

local function where(spec, key)
  local parts, args = {}, {}
  for i, k in ipairs(spec.key) do
    parts[i] = k .. " = ?"
    args[i] = key[i]
  end
  return table.concat(parts, " AND "), args
end

--- Swaps the ciphertexts of two rows of a registered column (behind the app's back) and checks
--- that neither opens any more (the associated data binds each to its row), then swaps them
--- back and checks both open again. opts: table, column, a, b (key values of the two rows),
--- and optionally read = fn() that reads through the API and must fail while swapped.
function M.swap_check(opts)
  local spec
  for _, f in ipairs(crypt.fields) do
    if f.table == opts.table and f.column == opts.column then spec = f end
  end
  assert(spec, "not a registered encrypted column: " .. opts.table .. "." .. opts.column)
  local wa, aa = where(spec, opts.a)
  local wb, ab = where(spec, opts.b)
  local sel = ("SELECT %s FROM %s WHERE "):format(spec.column, spec.table)
  local va = db.value(sel .. wa, table.unpack(aa))
  local vb = db.value(sel .. wb, table.unpack(ab))
  t.ok(va and vb, "both rows exist")
  t.ok(crypt.try_open(spec.table, spec.column, opts.a, va), "row a opens before the swap")
  t.ok(crypt.try_open(spec.table, spec.column, opts.b, vb), "row b opens before the swap")
  local upd = ("UPDATE %s SET %s = ? WHERE "):format(spec.table, spec.column)
  local function put(w, args, v)
    local all = { db.blob(v) }
    for _, x in ipairs(args) do all[#all + 1] = x end
    db.exec(upd .. w, table.unpack(all))
  end
  db.transaction(function() put(wa, aa, vb) put(wb, ab, va) end)
  local ra, ea = crypt.try_open(spec.table, spec.column, opts.a, db.value(sel .. wa, table.unpack(aa)))
  local rb = crypt.try_open(spec.table, spec.column, opts.b, db.value(sel .. wb, table.unpack(ab)))
  t.eq(ra, nil, "row a opened b's ciphertext")
  t.eq(rb, nil, "row b opened a's ciphertext")
  t.eq(ea and ea.code, "decrypt")
  if opts.read then opts.read() end
  db.transaction(function() put(wa, aa, va) put(wb, ab, vb) end)
  t.ok(crypt.try_open(spec.table, spec.column, opts.a, va), "row a opens again once swapped back")
end

return M
