-- `candor import` on the server: whoever runs it owns the data folder, so every change is
-- allowed; the import is recorded like one started on the page, applied in short transactions,
-- and each change is logged (in the name of the command line) like the one-by-one endpoints'.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local json = require "lib.json"
local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "../security/canary_lib.lua")

local dir = canary.file_backed()
local P = t.demo()
local candor = canary.candor_binary()

local function write_file(text)
  local path = dir .. "/people.csv"
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

local function cli(args)
  return canary.run(canary.sh_quote(candor) .. " import --data " .. canary.sh_quote(dir) .. " " .. args)
end

local FILE = "email,name,manager_email,roles\n"
  .. "cli.new@northwind.example,Cli New," .. demo.email("ravi") .. ",\n"
  .. demo.email("zoe") .. ",," .. demo.email("emma") .. ",Tech Admin\n"

t.test("a dry run on the command line changes nothing", function()
  local code, out = cli("--dry-run " .. canary.sh_quote(write_file(FILE)))
  t.eq(code, 0, out)
  t.contains(out, "dry run, nothing changed: 2 rows: 1 new, 1 updated")
  t.eq(db.value("SELECT count(*) FROM users WHERE email = 'cli.new@northwind.example'"), 0)
  t.eq(db.value("SELECT count(*) FROM imports"), 0)
end)

t.test("the command line imports every column, each change logged in its name", function()
  local code, out = cli(canary.sh_quote(write_file(FILE)))
  t.eq(code, 0, out)
  t.contains(out, "imported 2 rows: 1 new, 1 updated, 0 unchanged; made: 1 people, 0 profile changes, 2 reporting lines, 1 role grants")
  local new = db.row("SELECT * FROM users WHERE email = 'cli.new@northwind.example'")
  t.eq(new.manager_id, P.ravi.id)
  t.eq(db.value("SELECT manager_id FROM users WHERE id = ?", P.zoe.id), P.emma.id)
  local function entry(action, target)
    return db.row("SELECT * FROM audit_log WHERE action = ? AND target_id = ? ORDER BY id DESC LIMIT 1", action, target)
  end
  local moved = entry("user.manager", P.zoe.id)
  t.eq(moved.actor_label, "command line")
  t.eq(moved.actor_id, nil)
  t.eq(json.decode(moved.details).from, P.lucas.id)
  t.ok(entry("user.create", new.id), "the new person is logged")
  t.ok(entry("user.manager", new.id), "and their first manager")
  t.same(json.decode(entry("user.roles", P.zoe.id).details).granted, { "tech_admin" })
  local imp = db.row("SELECT * FROM imports ORDER BY id DESC LIMIT 1")
  t.eq(imp.via, "cli")
  t.eq(imp.status, "done")
  t.eq(imp.actor_label, "command line")
  t.eq(db.value("SELECT count(*) FROM jobs WHERE key = ?", "import:" .. imp.id), 0,
    "the fallback job that would have resumed it is gone")
  t.ok(require("services.audit").verify(), "the audit chain holds")
end)

t.test("a file with a problem changes nothing and says where", function()
  local code, out = cli(canary.sh_quote(write_file("email,manager_email\n" .. demo.email("mia") .. ",nobody@northwind.example\n")))
  t.eq(code, 1)
  t.contains(out, "line 2: manager_email:")
  t.contains(out, "nothing was imported")
end)

t.test("clean up the temporary data folder", function()
  canary.cleanup(dir)
end)
