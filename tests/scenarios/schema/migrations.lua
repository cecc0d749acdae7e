-- Schema changes are forward-only numbered migrations (lua/migrations/NNN_name.sql), each
-- tested here on a database made by the version before it, holding realistic data:
--
--   for every migration NNN: a fresh in-memory database is brought to the previous version,
--   tests/migrations/fixtures/<previous>.sql is loaded into it, then NNN is applied, and
--     - the migration is recorded in schema_migrations,
--     - PRAGMA integrity_check says ok and PRAGMA foreign_key_check finds nothing,
--     - every table keeps its rows: the same count, and the same values in the columns that
--       exist before and after (unless tests/migrations/checks/NNN.lua declares otherwise),
--     - the audit log's hash chain verifies as it did before,
--     - tests/migrations/checks/NNN.lua runs its own assertions when it exists.
--
-- This is the only scenario that replaces the app's database (core.db.open(":memory:")).
-- How to add a fixture and a check with a new migration: tests/migrations/README.md.
local t = require "testing"
local core_db = require "core.db"
local db = require "lib.db"
local fs = require "core.fs"
local host = require "core.host"

local MIGRATIONS = host.app_dir() .. "/migrations"
local here = debug.getinfo(1, "S").source:match("^@(.*)tests/scenarios/schema/[^/]+%.lua$")
local BASE = (here or (host.app_dir() .. "/../")) .. "tests/migrations"
local FIXTURES = BASE .. "/fixtures"
local CHECKS = BASE .. "/checks"

-- ---------------------------------------------------------------- the migrations on disk
local function list_migrations()
  local names = assert(fs.list(MIGRATIONS))
  local out = {}
  for _, name in ipairs(names) do
    local n = name:match("^(%d%d%d)_[%w_%-]+%.sql$")
    if n then out[#out + 1] = { version = tonumber(n), name = name } end
  end
  table.sort(out, function(a, b) return a.version < b.version end)
  return out, names
end

local MIGS, FILES = list_migrations()
local LATEST = #MIGS > 0 and MIGS[#MIGS].version or 0

local function vname(v) return ("%03d"):format(v) end

local function read_if_exists(path)
  if not fs.stat(path) then return nil end
  return assert(fs.read(path))
end

-- ---------------------------------------------------------------- database helpers
local function fresh()
  assert(core_db.open(":memory:"))
  t.eq(core_db.version(), 0, "a new database is at version 0")
end

local function migrate_to(v)
  if v == 0 then return 0 end -- migrate(dir, 0) would mean "all of them"
  local n, err = core_db.migrate(MIGRATIONS, v)
  if not n then t.fail("migrating to " .. vname(v) .. " failed: " .. err.message) end
  t.eq(core_db.version(), v, "schema version after migrating to " .. vname(v))
  return n
end

local function quote_ident(name) return '"' .. name:gsub('"', '""') .. '"' end

local function user_tables()
  return core_db.column([[SELECT name FROM sqlite_master WHERE type = 'table'
    AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name]])
end

local function columns(tbl)
  local out = {}
  for _, c in ipairs(core_db.query("SELECT name FROM pragma_table_info(?) ORDER BY cid", tbl)) do
    out[#out + 1] = c.name
  end
  return out
end

-- A row as text over the given columns, keeping types apart (1, 1.0 and '1' differ).
local function row_text(row, cols)
  local parts = {}
  for i, c in ipairs(cols) do
    local v = row[c]
    if v == nil then parts[i] = "NULL"
    elseif math.type(v) == "integer" then parts[i] = "integer:" .. v
    elseif math.type(v) == "float" then parts[i] = ("float:%a"):format(v)
    else parts[i] = ("%q"):format(v) end
  end
  return table.concat(parts, ",")
end

-- Every row of a table as text over cols, sorted (order-free comparison).
local function rows_text(rows, cols)
  local out = {}
  for i, r in ipairs(rows) do out[i] = row_text(r, cols) end
  table.sort(out)
  return out
end

--- What the database holds: { [table] = { count=, columns={...}, set={ [column]=true }, rows={...} } }.
local function snapshot()
  local snap = {}
  for _, tbl in ipairs(user_tables()) do
    local cols = columns(tbl)
    local set = {}
    for _, c in ipairs(cols) do set[c] = true end
    local rows = core_db.query("SELECT * FROM " .. quote_ident(tbl))
    snap[tbl] = { count = #rows, columns = cols, set = set, rows = rows }
  end
  return snap
end

local function audit_state()
  if not core_db.value("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'") then return nil end
  local ok, n, bad = require("services.audit").verify()
  return { ok = ok, n = n, bad = bad and bad.id }
end

local function integrity()
  t.eq(core_db.value("PRAGMA integrity_check"), "ok", "PRAGMA integrity_check")
  local fk = core_db.query("PRAGMA foreign_key_check")
  if #fk > 0 then
    t.fail(("PRAGMA foreign_key_check: %d row(s) point nowhere, e.g. %s rowid %s -> %s")
      :format(#fk, fk[1].table, tostring(fk[1].rowid), fk[1].parent))
  end
end

local function load_check(v)
  local path = CHECKS .. "/" .. vname(v) .. ".lua"
  if not fs.stat(path) then return {} end
  local chunk, err = loadfile(path, "t")
  if not chunk then t.fail("cannot load " .. path .. ": " .. err) end
  local spec = chunk()
  if type(spec) == "function" then spec = { check = spec } end
  t.eq(type(spec), "table", path .. " returns a function or a table")
  spec.path = "tests/migrations/checks/" .. vname(v) .. ".lua"
  return spec
end

local function short(s) return #s > 300 and (s:sub(1, 300) .. "…") or s end

-- The first row of want that got lacks, and the first row of got that want lacks.
local function diff_rows(want, got)
  local count = {}
  for _, r in ipairs(got) do count[r] = (count[r] or 0) + 1 end
  local missing
  for _, r in ipairs(want) do
    if (count[r] or 0) > 0 then count[r] = count[r] - 1 elseif not missing then missing = r end
  end
  if not missing then return nil end
  for _, r in ipairs(got) do
    if (count[r] or 0) > 0 then return missing, r end
  end
  return missing, nil
end

-- Says which columns of a changed row differ (rows matched on their first column, usually the key).
local function describe_change(before_rows, after_rows, cols, missing, added)
  local function find(rows, text)
    for _, r in ipairs(rows) do if row_text(r, cols) == text then return r end end
  end
  local old = find(before_rows, missing)
  local new = added and find(after_rows, added)
  if old and new and old[cols[1]] == new[cols[1]] then
    local diffs = {}
    for _, c in ipairs(cols) do
      if row_text(old, { c }) ~= row_text(new, { c }) then
        diffs[#diffs + 1] = ("%s %s -> %s"):format(c, row_text(old, { c }), row_text(new, { c }))
      end
    end
    return ("in the row with %s = %s: %s"):format(cols[1], row_text(old, { cols[1] }), short(table.concat(diffs, ", ")))
  end
  return ("the row (%s) %s became %s"):format(table.concat(cols, ","), short(missing), short(added or "nothing"))
end

--- Compares the tables before and after migration v, allowing what its check declares.
local function compare(before, after, spec, v)
  local dropped = spec.tables_dropped or {}
  local counts = spec.counts_change or {}
  local values = spec.values_change or {}
  local gone = spec.columns_dropped or {}
  local function where(kind) return ("declare it in tests/migrations/checks/%s.lua (%s)"):format(vname(v), kind) end
  for tbl, b in pairs(before) do
    local a = after[tbl]
    if not a then
      if not dropped[tbl] then
        t.fail(("migration %s dropped table %s with %d row(s); %s"):format(vname(v), tbl, b.count, where("tables_dropped")))
      end
    elseif not counts[tbl] then
      if a.count ~= b.count then
        t.fail(("migration %s changed the rows in %s from %d to %d; %s"):format(vname(v), tbl, b.count, a.count,
          where("counts_change")))
      end
      -- every row keeps its values in every column that survives
      local skip, common = {}, {}
      for _, c in ipairs(values[tbl] or {}) do skip[c] = true end
      for _, c in ipairs(b.columns) do
        if not a.set[c] then
          if not gone[tbl .. "." .. c] and b.count > 0 then
            t.fail(("migration %s dropped column %s.%s; %s"):format(vname(v), tbl, c, where("columns_dropped")))
          end
        elseif not skip[c] then
          common[#common + 1] = c
        end
      end
      local missing, added = diff_rows(rows_text(b.rows, common), rows_text(a.rows, common))
      if missing then
        t.fail(("migration %s changed values in %s: %s; %s")
          :format(vname(v), tbl, describe_change(b.rows, a.rows, common, missing, added), where("values_change")))
      end
    end
  end
end

-- ---------------------------------------------------------------- one test per migration
for i, m in ipairs(MIGS) do
  local prev = i > 1 and MIGS[i - 1].version or 0
  local fixture_path = FIXTURES .. "/" .. vname(prev) .. ".sql"
  local has_fixture = fs.stat(fixture_path) ~= nil
  t.test(("migration %s on a version-%s database %s"):format(m.name, vname(prev),
    has_fixture and ("with the data of fixtures/" .. vname(prev) .. ".sql") or "(no fixture)"), function()
    local spec = load_check(m.version)
    fresh()
    t.eq(migrate_to(prev), i - 1, "migrations applied to reach version " .. vname(prev))
    local fixture = read_if_exists(fixture_path)
    if fixture then
      local ok, err = core_db.script(fixture)
      if not ok then
        t.fail(("fixtures/%s.sql does not load at version %s: %s"):format(vname(prev), vname(prev), err.message))
      end
      integrity() -- the fixture itself is consistent
    end
    local before = snapshot()
    local audit_before = audit_state()

    local n, err = core_db.migrate(MIGRATIONS, m.version)
    if not n then t.fail(m.name .. " failed: " .. err.message) end
    t.eq(n, 1, "migrations applied")
    t.eq(core_db.version(), m.version, "schema version")
    t.eq(core_db.value("SELECT name FROM schema_migrations WHERE version = ?", m.version), m.name,
      "schema_migrations records the migration")
    integrity()

    compare(before, snapshot(), spec, m.version)
    if audit_before and audit_before.n > 0 and not spec.audit_chain_changes then
      t.same(audit_state(), audit_before, "the audit log's hash chain after migration " .. vname(m.version))
    end
    if spec.check then
      -- failures inside the check name its file
      local ok, e = xpcall(spec.check, function(e)
        if type(e) == "table" and e.message then
          e.message = spec.path .. ": " .. e.message
          return e
        end
        return debug.traceback(tostring(e), 2)
      end, db, t, { before = before, version = m.version })
      if not ok then error(e, 0) end
    end
  end)
end

-- ---------------------------------------------------------------- the whole chain
t.test("every migration file is named NNN_name.sql and numbered once", function()
  t.ok(#MIGS > 0, "there are migrations in " .. MIGRATIONS)
  for _, name in ipairs(FILES) do
    if name:match("%.sql$") then
      t.match(name, "^%d%d%d_[%w_%-]+%.sql$", "migration file name (others are silently skipped)")
    end
  end
  local seen = {}
  for _, m in ipairs(MIGS) do
    t.no(seen[m.version], "two migrations numbered " .. vname(m.version))
    seen[m.version] = true
  end
end)

t.test("every fixture survives all the later migrations", function()
  local tried = 0
  for _, m in ipairs(MIGS) do
    local fixture = read_if_exists(FIXTURES .. "/" .. vname(m.version) .. ".sql")
    if fixture and m.version < LATEST then
      tried = tried + 1
      fresh()
      migrate_to(m.version)
      local ok, lerr = core_db.script(fixture)
      if not ok then t.fail(("fixtures/%s.sql does not load: %s"):format(vname(m.version), lerr.message)) end
      local before = snapshot()
      local audit_before = audit_state()
      local n, err = core_db.migrate(MIGRATIONS)
      if not n then t.fail(("fixture %s: migrating to the newest failed: %s"):format(vname(m.version), err.message)) end
      t.eq(core_db.version(), LATEST, "version after migrating fixture " .. vname(m.version))
      integrity()
      -- row counts hold across the chain unless a later migration's check declared a change
      local declared, chain_changes = {}, false
      for _, later in ipairs(MIGS) do
        if later.version > m.version then
          local spec = load_check(later.version)
          for tbl in pairs(spec.counts_change or {}) do declared[tbl] = true end
          for tbl in pairs(spec.tables_dropped or {}) do declared[tbl] = true end
          chain_changes = chain_changes or spec.audit_chain_changes
        end
      end
      local after = snapshot()
      for tbl, b in pairs(before) do
        if not declared[tbl] then
          t.ok(after[tbl], ("table %s (fixture %s) still exists"):format(tbl, vname(m.version)))
          t.eq(after[tbl].count, b.count, ("rows in %s (fixture %s) at the newest version"):format(tbl, vname(m.version)))
        end
      end
      if audit_before and audit_before.n > 0 and not chain_changes then
        t.same(audit_state(), audit_before, "the audit chain of fixture " .. vname(m.version))
      end
    end
  end
  t.ok(tried > 0 or LATEST <= 1, "at least one fixture was migrated to the newest version")
end)

t.test("applying all migrations twice is a no-op", function()
  fresh()
  local n = core_db.migrate(MIGRATIONS)
  t.eq(n, #MIGS, "first run applies every migration")
  t.eq(core_db.version(), LATEST)
  local schema = core_db.column("SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
  local applied = core_db.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
  t.eq(#applied, #MIGS, "one schema_migrations row per migration")
  local again, err = core_db.migrate(MIGRATIONS)
  t.eq(again, 0, "second run applies nothing" .. (err and (": " .. err.message) or ""))
  t.eq(core_db.version(), LATEST)
  t.same(core_db.column("SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY name"),
    schema, "the schema is unchanged")
  t.same(core_db.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version"), applied,
    "schema_migrations is unchanged")
end)

t.test("a database from a newer Candor is refused with a message", function()
  fresh()
  t.eq(core_db.migrate(MIGRATIONS), #MIGS)
  local future = LATEST + 1
  core_db.exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES(?, ?, ?)",
    future, vname(future) .. "_from_the_future.sql", "2027-01-01T00:00:00Z")
  local schema = core_db.column("SELECT name FROM sqlite_master ORDER BY name")
  local n, err = core_db.migrate(MIGRATIONS)
  t.eq(n, nil, "migrate refuses")
  t.eq(err.code, "migration")
  t.contains(err.message, ("schema version %d"):format(future))
  t.contains(err.message, ("knows only up to %d"):format(LATEST))
  t.contains(err.message, "newer Candor")
  t.eq(core_db.version(), future, "the version is left as it was")
  t.same(core_db.column("SELECT name FROM sqlite_master ORDER BY name"), schema, "nothing was changed")
end)
