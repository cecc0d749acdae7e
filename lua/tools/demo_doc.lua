-- candor run lua/tools/demo_doc.lua [OUT]: writes docs/demo.md from lua/demo.lua.
local fs = require "core.fs"
local demo = require "demo"
local out = ... or "docs/demo.md"
assert(fs.write(out, demo.markdown(), 420))
print("wrote " .. out)
