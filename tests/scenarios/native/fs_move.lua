-- core.fs.rename moves a file and never overwrites one (the SFTP feed moves processed files into
-- done/ and failed/ by it); core.fs.append adds to a file written in slices (the XML export);
-- core.fs.access says what this process may do with a path.
local t = require "testing"
local fs = require "core.fs"
local crypto = require "core.crypto"

local dir = "/tmp/candor-fs-" .. crypto.hex(crypto.random(6))

local function cleanup()
  for _, name in ipairs(fs.list(dir) or {}) do fs.remove(dir .. "/" .. name) end
  os.remove(dir)
end

t.test("rename moves a file; the old name is gone and the content is the same", function()
  assert(fs.mkdir(dir))
  assert(fs.write(dir .. "/a.csv", "email\nx@example.com\n"))
  t.eq(fs.rename(dir .. "/a.csv", dir .. "/b.csv"), true)
  t.no(fs.stat(dir .. "/a.csv"))
  t.eq(fs.read(dir .. "/b.csv"), "email\nx@example.com\n")
  cleanup()
end)

t.test("rename never overwrites: both files stay as they were and it says why", function()
  assert(fs.mkdir(dir))
  assert(fs.write(dir .. "/a.csv", "new"))
  assert(fs.write(dir .. "/b.csv", "old"))
  local ok, err = fs.rename(dir .. "/a.csv", dir .. "/b.csv")
  t.no(ok)
  t.contains(err.message, "exists")
  t.eq(fs.read(dir .. "/a.csv"), "new")
  t.eq(fs.read(dir .. "/b.csv"), "old")
  local ok2, err2 = fs.rename(dir .. "/missing.csv", dir .. "/c.csv")
  t.no(ok2)
  t.contains(err2.message, "missing.csv")
  cleanup()
end)

t.test("access tells whether a path exists and may be read and written", function()
  assert(fs.mkdir(dir))
  assert(fs.write(dir .. "/a.csv", "x"))
  t.eq(fs.access(dir, "rwx"), true)
  t.eq(fs.access(dir .. "/a.csv", "r"), true)
  t.eq(fs.access(dir .. "/nope", "r"), false)
  t.eq(fs.access(dir .. "/nope", ""), false)
  cleanup()
end)

t.test("append adds to the end of a file, creating it (mode 0600) when missing; a missing folder says why", function()
  assert(fs.mkdir(dir))
  local path = dir .. "/slices.xml"
  t.eq(fs.append(path, "<a>"), true)
  t.eq(fs.stat(path).mode, 384)
  t.eq(fs.append(path, "Ömer\0"), true)
  t.eq(fs.append(path, "</a>"), true)
  t.eq(fs.read(path), "<a>Ömer\0</a>")
  local ok, err = fs.append(dir .. "/no/such/folder/x", "y")
  t.no(ok)
  t.contains(err.message, "cannot append")
  cleanup()
end)
