-- The generated parts of the docs agree with their source: the field reference of workflow
-- scripts in docs/scripting.md is what the script schema (services/workflow_script.lua) renders
-- (`make docs` writes it).
local t = require "testing"
local fs = require "core.fs"
local tool = dofile("lua/tools/scripting_doc.lua")

t.test("docs/scripting.md holds the field reference the workflow script schema generates", function()
  local doc = assert(fs.read("docs/scripting.md"))
  local filled, why = tool.fill(doc)
  t.ok(filled, why)
  if filled ~= doc then t.fail("docs/scripting.md differs from the schema: run `make docs`") end
  t.contains(doc, "| `offset` | integer | no | -366 to 366 |")
end)

t.test("a change to the schema shows: the check compares the whole reference", function()
  local doc = assert(fs.read("docs/scripting.md")):gsub("| `offset` | integer | no | %-366 to 366 |",
    "| `offset` | integer | no | -365 to 365 |", 1)
  t.neq(tool.fill(doc), doc)
end)
