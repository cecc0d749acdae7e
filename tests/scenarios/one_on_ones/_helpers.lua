-- Shared steps of the 1:1 scenarios (files starting with _ are not run on their own):
--   local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")
local t = require "testing"

local H = {}

--- A client signed in as the demo person key (cached per key: sign-ins cost time).
H.as = t.as

--- key starts a series with other (a demo key) through the API; returns the series JSON (with meeting_id).
function H.start(key, other, opts)
  opts = opts or {}
  local P = t.demo()
  local body = { with_id = P[other].id, title = opts.title, cadence = opts.cadence or "weekly",
    date = opts.date or "2026-01-07" }
  return t.status(H.as(key):post("/api/meeting-series", body), 201).json
end

--- key adds an item to meeting_id; returns its JSON. fields: { kind =, text =, private =, ... }.
function H.add(key, meeting_id, fields)
  return t.status(H.as(key):post("/api/meetings/" .. meeting_id .. "/items", fields), 201).json
end

--- The texts of the items key reads in meeting_id (a set), or nil and the status when refused.
function H.texts(key, meeting_id)
  local res = H.as(key):get("/api/meetings/" .. meeting_id)
  if res.status ~= 200 then return nil, res.status end
  local out = {}
  for _, i in ipairs(res.json.items) do out[i.text] = i end
  return out, 200
end

return H
