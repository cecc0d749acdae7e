-- The praise wall benchmark's helper, run by bench/bench_praise.sh through `candor run` on a data
-- folder that bench/directory_company.lua filled with a company:
--
--   candor run --data DIR bench/praise_company.lua setup N
--     writes N praise messages (direct SQL in one transaction, each text sealed like the app's:
--     one or two recipients, a badge on two in three, most for everyone, some for recipients and
--     managers, a few likes) and prints an API token of an employee without a role on the last line.
local db = require "lib.db"
local crypt = require "lib.crypt"
local clock = require "core.clock"
require "services.messages" -- registers the sealed columns

local mode, count = ...

local AUDIENCES = { "everyone", "everyone", "everyone", "managers", "recipients" }

local function setup(n)
  n = assert(math.tointeger(tonumber(n)), "setup needs the number of messages")
  local people = db.value("SELECT count(*) FROM users")
  assert(people >= 100, "fill the company first (bench/directory_company.lua setup N)")
  local now = clock.now()
  local token
  db.transaction(function()
    for i = 1, n do
      local author = (i * 7919) % people + 1
      local to = (i * 104729) % people + 1
      if to == author then to = to % people + 1 end
      local id = db.insert([[INSERT INTO messages(kind, author_id, audience, anonymous, badge_id, text_enc, like_count,
          created_at, updated_at) VALUES('praise', ?, ?, ?, ?, x'', ?, ?, ?)]], author, AUDIENCES[i % #AUDIENCES + 1],
        i % 50 == 0 and 1 or 0, i % 3 ~= 0 and (i % 6 + 1) or nil, i % 4, now - (n - i) * 60, now - (n - i) * 60)
      db.exec("UPDATE messages SET text_enc = ? WHERE id = ?", crypt.seal("messages", "text_enc", { id },
        ("Thank you for the help with release %d: the launch went smoothly because of you."):format(i)), id)
      db.exec("INSERT INTO message_recipients(message_id, user_id) VALUES(?, ?)", id, to)
      if i % 5 == 0 then
        local second = to % people + 1
        if second ~= author then db.exec("INSERT OR IGNORE INTO message_recipients(message_id, user_id) VALUES(?, ?)", id, second) end
      end
    end
    local reader = db.row([[SELECT * FROM users WHERE status = 'active' AND id NOT IN (SELECT user_id FROM user_roles)
      ORDER BY id DESC LIMIT 1]])
    token = require("services.api_tokens").create(reader, "praise wall benchmark")
  end)
  io.stderr:write(("praise bench: %d praise messages for %d people\n"):format(n, people))
  io.stdout:write(token, "\n")
end

if mode == "setup" then setup(count) else error("usage: praise_company.lua setup N") end
