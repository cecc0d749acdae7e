-- candor run lua/tools/demo_doc.lua [OUT]: writes docs/demo.md from lua/demo.lua.
local fs = require "core.fs"
local out = ... or "docs/demo.md"
assert(fs.write(out, require("demo").markdown(), 420))
print("wrote " .. out)
