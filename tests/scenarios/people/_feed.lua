-- Helpers of the SFTP feed scenarios (feed_*.lua): a drop folder under /tmp made by the test and
-- removed after, people files, the feed's settings put back between tests.
--   local F = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_feed.lua")
local t = require "testing"
local fs = require "core.fs"
local crypto = require "core.crypto"
local db = require "lib.db"
local settings = require "services.settings"

local F = {}

--- A new empty drop folder; F.cleanup() removes it with everything in it.
function F.folder()
  local dir = "/tmp/candor-feed-" .. crypto.hex(crypto.random(6))
  assert(fs.mkdir(dir, 448)) -- 0700
  F.dirs = F.dirs or {}
  F.dirs[#F.dirs + 1] = dir
  return dir
end

local function rm(path)
  local st = fs.stat(path)
  if not st then return end
  if st.kind == "dir" then
    for _, name in ipairs(fs.list(path) or {}) do rm(path .. "/" .. name) end
    os.remove(path)
  else
    fs.remove(path)
  end
end

--- Removes every folder F.folder() made.
function F.cleanup()
  for _, d in ipairs(F.dirs or {}) do rm(d) end
  F.dirs = {}
end

--- The files in dir (or dir/sub), by name.
function F.files(dir, sub)
  return fs.list(sub and (dir .. "/" .. sub) or dir) or {}
end

--- Writes a file into dir.
function F.write(dir, name, text)
  assert(fs.write(dir .. "/" .. name, text, 384)) -- 0600
end

--- A people file: every employee not deactivated as they are now (so nothing changes), minus the
--- emails in `leave_out`, plus the rows of `extra` (lines "email,name,...").
function F.file(leave_out, extra)
  local skip = {}
  for _, e in ipairs(leave_out or {}) do skip[e:lower()] = true end
  local lines = { "email,name,job_title" }
  for _, u in ipairs(db.query([[SELECT email, name, job_title FROM users WHERE kind = 'employee'
      AND status <> 'deactivated' ORDER BY id]])) do
    if not skip[u.email:lower()] then
      lines[#lines + 1] = ('%s,"%s","%s"'):format(u.email, u.name:gsub('"', '""'), u.job_title:gsub('"', '""'))
    end
  end
  for _, l in ipairs(extra or {}) do lines[#lines + 1] = l end
  return table.concat(lines, "\n") .. "\n"
end

--- Puts the feed's settings back to their defaults (nobody owns it), with the folder dir.
--- Files the tests write count as settled at once (feed_runs.lua tests the wait on its own).
function F.reset(dir)
  require("services.feed").SETTLE_S = 0
  db.exec("DELETE FROM settings WHERE key LIKE 'sftp.%'")
  settings.reset_cache()
  if dir then
    db.exec("INSERT INTO settings(key, value, updated_at) VALUES('sftp.folder', ?, 0)", '"' .. dir .. '"')
    settings.reset_cache()
  end
end

--- The feed's settings as the API shows them, for client c.
function F.get(c) return t.status(c:get("/api/integrations/sftp"), 200).json end

--- Saves settings through the API as c (expects 200); returns the answer.
function F.put(c, body) return t.status(c:put("/api/integrations/sftp", body), 200).json end

--- Asks c's run now and lets the job run; returns the newest run.
function F.run(c)
  t.status(c:post("/api/integrations/sftp/run", {}), 202)
  t.advance("1s")
  return F.get(c).runs[1]
end

--- The status of the person with this email.
function F.status(email) return db.value("SELECT status FROM users WHERE lower(email) = lower(?)", email) end

return F
