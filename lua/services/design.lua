-- The company's look (Administration › Design; admin.design, Tech Admins): its name, its logo, its
-- brand colour and a few words on the sign-in page. Every page, signed in or not, shows them:
-- lib/page.lua fires "page.look" and this service fills it in.
--
-- The brand colour paints buttons (white text on it) and links (it on white), so it must be
-- readable both ways: a colour whose contrast with white is under WCAG's 4.5:1 for text is refused
-- with its ratio. The shades the stylesheet needs (hover, tints, focus ring) are worked out from it
-- and served as a small stylesheet, /design/brand.css, whose address changes with the colour (no
-- inline styles: the CSP forbids them). The logo is checked by lib/image.lua like a badge image.
local db = require "lib.db"
local errors = require "lib.errors"
local events = require "lib.events"
local image = require "lib.image"
local memo = require "lib.memo"
local util = require "lib.util"
local clock = require "core.clock"
local audit = require "services.audit"
local settings = require "services.settings"

local M = {}

M.DEFAULT_COLOR = "#4338ca" -- the stylesheet's own --brand
M.MIN_CONTRAST = 4.5
M.LOGO_MAX_BYTES = 256 * 1024
M.SIGNIN_TEXT_MAX = 600

-- The form's fields and the settings behind them.
M.SETTINGS = {
  { name = "company_name", key = "company.name" },
  { name = "brand_color", key = "design.brand_color" },
  { name = "signin_text", key = "design.signin_text" },
}

-- ---------------------------------------------------------------- colours

local function channels(hex)
  return tonumber(hex:sub(2, 3), 16), tonumber(hex:sub(4, 5), 16), tonumber(hex:sub(6, 7), 16)
end

local function linear(c)
  c = c / 255
  if c <= 0.03928 then return c / 12.92 end
  return ((c + 0.055) / 1.055) ^ 2.4
end

--- WCAG's contrast ratio of a #rrggbb colour against white (1 to 21).
function M.contrast_with_white(hex)
  local r, g, b = channels(hex)
  local l = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
  return 1.05 / (l + 0.05)
end

-- #rrggbb mixed with #rrggbb `other` by share (0: hex, 1: other).
local function mix(hex, other, share)
  local r1, g1, b1 = channels(hex)
  local r2, g2, b2 = channels(other)
  local function m(a, b) return math.floor(a + (b - a) * share + 0.5) end
  return ("#%02x%02x%02x"):format(m(r1, r2), m(g1, g2), m(b1, b2))
end

local function valid_color(v)
  if not v:match("^#%x%x%x%x%x%x$") then
    return nil, "must be a colour written #rrggbb, e.g. #4338ca"
  end
  local ratio = M.contrast_with_white(v)
  if ratio < M.MIN_CONTRAST then
    return nil, ("is too light to read: white text on it, and it on white, have a contrast of %.1f:1, "
      .. "at least %.1f:1 is needed. Pick a darker shade"):format(math.floor(ratio * 10) / 10, M.MIN_CONTRAST)
  end
  return true
end

--- The stylesheet that puts colour (#rrggbb) in place of the default brand colour.
function M.stylesheet(color)
  local r, g, b = channels(color)
  return table.concat({
    "/* Candor: the company's brand colour (Administration › Design) */",
    ":root {",
    "  --brand: " .. color .. ";",
    "  --brand-600: " .. mix(color, "#000000", 0.18) .. ";",
    "  --brand-50: " .. mix(color, "#ffffff", 0.92) .. ";",
    "  --brand-100: " .. mix(color, "#ffffff", 0.84) .. ";",
    ("  --focus: 0 0 0 3px rgb(%d %d %d / 35%%);"):format(r, g, b),
    "}",
    "",
  }, "\n")
end

-- ---------------------------------------------------------------- the look

--- The colour in use (#rrggbb, lower case).
function M.color()
  return settings.get("design.brand_color")
end

-- The logo's row without its bytes, kept while the table is unchanged (every page asks).
local logo_rows = memo.new({ "design_logo" }, 1)
local function logo_row()
  return db.row("SELECT type, rev, updated_at FROM design_logo WHERE id = 1") or false
end

--- The stored logo's row without its bytes: { type, rev, updated_at } | nil.
function M.logo_info()
  return logo_rows:fetch(1, logo_row) or nil
end

--- The logo's bytes and content type, or nil.
function M.logo()
  local r = db.row("SELECT data, type FROM design_logo WHERE id = 1")
  if not r then return nil end
  return r.data, r.type
end

--- What every page shows: { name, logo = address | nil, stylesheet = address | nil, signin_text }.
function M.look()
  local color = M.color()
  local logo = M.logo_info()
  return {
    name = settings.get("company.name"),
    logo = logo and ("/design/logo?v=" .. logo.rev) or nil,
    stylesheet = color ~= M.DEFAULT_COLOR and ("/design/brand.css?v=" .. color:sub(2)) or nil,
    signin_text = settings.get("design.signin_text"),
  }
end

--- The values of the form: { company_name, brand_color, signin_text }.
function M.current()
  local out = {}
  for _, s in ipairs(M.SETTINGS) do out[s.name] = settings.get(s.key) end
  return out
end

-- ---------------------------------------------------------------- changes

local function require_design(actor)
  if not require("services.access").can(actor, "admin.design") then
    errors.forbidden("The design is set by Tech Admins.")
  end
end

--- The names of the fields a save changed, in the form's order.
function M.changed_names(changed)
  local out = {}
  for _, x in ipairs(M.SETTINGS) do if changed[x.name] then out[#out + 1] = x.name end end
  return out
end

--- Saves the fields given in input (names as in M.SETTINGS; absent ones stay): every value is
--- checked first, 422 with a message per field and nothing changed. An empty brand colour is
--- Candor's own. A change is audited (settings.design, with from and to). Returns the changes by name.
--- Call inside a transaction.
function M.save(actor, input, req)
  require_design(actor)
  if type(input) ~= "table" then errors.invalid({}, "Send the design as a JSON object.") end
  local values, problems = {}, {}
  for _, s in ipairs(M.SETTINGS) do
    local v = input[s.name]
    if type(v) == "string" then v = util.trim(v) end
    if s.name == "brand_color" and v == "" then v = M.DEFAULT_COLOR end
    if s.name == "brand_color" and type(v) == "string" then v = v:lower() end
    if s.name == "company_name" and v == "" then
      problems[s.name] = "Give the company's name: pages and mails show it."
    elseif v ~= nil then
      local checked, msg = settings.check(s.key, v)
      if checked == nil then problems[s.name] = msg:gsub("^%l", string.upper) .. "." else values[s.name] = checked end
    end
  end
  if next(problems) then errors.invalid(problems, "Nothing was saved: some fields need attention.") end
  local changed = settings.set_named(M.SETTINGS, values, actor.id)
  if next(changed) then
    audit.record{ action = "settings.design", actor = actor, req = req, details = { changed = changed } }
    events.fire("design.changed", { fields = M.changed_names(changed), actor_id = actor.id })
  end
  return changed
end

--- Stores bytes as the logo after checking them (PNG, JPEG or a safe SVG, at most 256 KB): 422
--- with the reason otherwise, nothing changed. Returns { type, rev }. Call inside a transaction.
function M.set_logo(actor, bytes, req)
  require_design(actor)
  if type(bytes) ~= "string" or bytes == "" then errors.invalid({ logo = "Choose an image file." }, "Choose an image file.") end
  if #bytes > M.LOGO_MAX_BYTES then
    local msg = ("The file is %d KB; a logo is at most %d KB."):format(math.ceil(#bytes / 1024), M.LOGO_MAX_BYTES // 1024)
    errors.invalid({ logo = msg }, msg)
  end
  local img, err = image.check(bytes)
  if not img then errors.invalid({ logo = err.message }, err.message) end
  local before = M.logo_info()
  local rev = math.max(clock.now_ms(), (before and before.rev or 0) + 1)
  db.exec([[INSERT INTO design_logo(id, type, data, rev, updated_at, updated_by) VALUES(1, ?, ?, ?, ?, ?)
    ON CONFLICT(id) DO UPDATE SET type = excluded.type, data = excluded.data, rev = excluded.rev,
    updated_at = excluded.updated_at, updated_by = excluded.updated_by]], img.type, db.blob(img.data), rev,
    clock.now(), actor.id)
  audit.record{ action = "settings.design_logo", actor = actor, req = req,
    details = { change = before and "replaced" or "added", type = img.type, width = img.width, height = img.height } }
  events.fire("design.changed", { fields = { "logo" }, actor_id = actor.id })
  return { type = img.type, rev = rev }
end

--- Removes the logo (Candor's shows again). Returns whether there was one.
function M.remove_logo(actor, req)
  require_design(actor)
  if not M.logo_info() then return false end
  db.exec("DELETE FROM design_logo WHERE id = 1")
  audit.record{ action = "settings.design_logo", actor = actor, req = req, details = { change = "removed" } }
  events.fire("design.changed", { fields = { "logo" }, actor_id = actor.id })
  return true
end

function M.init()
  settings.define("design.brand_color", { type = "string", default = M.DEFAULT_COLOR, len_max = 7, one_line = true,
    label = "Brand colour", custom_validator = valid_color,
    description = "The colour of buttons and links, written #rrggbb in lower case (Candor's own: #4338ca). It must "
      .. "keep a contrast of 4.5:1 with white." })
  settings.define("design.signin_text", { type = "string", default = "", len_max = M.SIGNIN_TEXT_MAX,
    label = "Sign-in text", description = "A few words shown above the sign-in form, e.g. who to ask for help." })
  events.hook("page.look", function(e)
    for k, v in pairs(M.look()) do e[k] = v end
  end)
end

return M
