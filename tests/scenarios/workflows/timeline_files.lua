-- The timelines that are not cycles (1:1 mails, objectives' mails) live in workflows/*.lua like
-- the cycle workflows: a copy in the data folder replaces the built-in file when it is valid, is
-- run in the sandbox (a loop is stopped), and a broken copy is logged while the built-in runs.
local t = require "testing"
local fs = require "core.fs"
local crypto = require "core.crypto"
local kit = require "services.timeline_steps"
local one_on_one = require "services.one_on_one_timeline"
local objectives = require "services.objective_timeline"

t.demo()

local dir = "/tmp/candor-tl-" .. crypto.hex(crypto.random(6))
local app = { app_dir = "lua", data_dir = dir }
local copy = dir .. "/workflows/one_on_one.lua"
local BUILTIN = assert(fs.read("workflows/one_on_one.lua"))

local function write(text)
  fs.mkdir(dir)
  fs.mkdir(dir .. "/workflows")
  assert(fs.write(copy, text))
end

local function cleanup()
  fs.remove(copy)
  os.remove(dir .. "/workflows")
  os.remove(dir)
end

t.test("without a copy in the data folder the built-in files run, checked by their schemas", function()
  local steps, origin = kit.load({ app_dir = "lua" }, "one_on_one", one_on_one.check)
  t.eq(origin, "built-in")
  t.eq(#steps, #dofile("workflows/one_on_one.lua").timeline)
  t.eq(steps[2].at, "meeting")
  local osteps = kit.load({ app_dir = "lua" }, "objectives", objectives.check)
  t.eq(osteps[1].id, "due_30")
end)

t.test("a valid copy in the data folder replaces the built-in", function()
  write((BUILTIN:gsub('offset = %-1', 'offset = -2', 1)))
  local steps, origin = kit.load(app, "one_on_one", one_on_one.check)
  t.eq(origin, copy)
  t.eq(steps[2].offset, -2)
  cleanup()
end)

t.test("a copy with an unknown word is logged and the built-in runs", function()
  write((BUILTIN:gsub('to = "attendee"', 'to = "managers"', 1)))
  local steps, origin = kit.load(app, "one_on_one", one_on_one.check)
  t.eq(origin, "built-in")
  t.eq(steps[1].to, "attendee")
  cleanup()
end)

t.test("a copy runs in the sandbox: a loop is stopped, io is not there, and the built-in runs", function()
  for _, text in ipairs({ "while true do end", "return { timeline = io.open('/etc/passwd'):read('a') }",
      "return 42", "return { timeline = 'weekly' }" }) do
    write(text)
    local steps, origin = kit.load(app, "one_on_one", one_on_one.check)
    t.eq(origin, "built-in", text)
    t.eq(steps[1].template, "one_on_one.invite")
  end
  cleanup()
end)

t.test("a broken built-in file stops the start with its problem", function()
  local ok, err = pcall(kit.load, { app_dir = "lua" }, "one_on_one", function() return nil, { "no good" } end)
  t.eq(ok, false)
  t.contains(tostring(err), "workflows/one_on_one.lua is not valid: no good")
end)

t.test("the cycle workflow pages list only workflows of cycles: a timeline file is not one", function()
  local tech = t.login(require("demo").email("marcus"))
  local list = tech:get("/admin/workflows")
  t.status(list, 200)
  t.contains(list.body, "/admin/workflows/performance_review")
  t.not_contains(list.body, "/admin/workflows/one_on_one")
  t.not_contains(list.body, "/admin/workflows/objectives")
  t.status(tech:get("/admin/workflows/one_on_one"), 404)
  t.status(tech:get("/api/workflows/one_on_one"), 404)
  t.status(tech:post("/api/workflows/objectives/check", { source = "return {}" }), 404)
end)
