-- Reading PDFs back with poppler (pdftotext, pdfinfo, pdffonts, pdftoppm) for the core.pdf
-- scenarios: `local poppler = dofile(<this folder> .. "poppler_lib.lua")`. Loaded as a scenario
-- on its own it defines no test.
local M = {}

--- Runs a poppler tool on the PDF bytes ("FILE" in cmd stands for them); returns its output.
function M.run(bytes, cmd)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  local p = assert(io.popen(cmd:gsub("FILE", path) .. " 2>/dev/null"))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out
end

return M
