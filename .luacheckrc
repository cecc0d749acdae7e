std = "lua54"
max_line_length = 130
files["lua/testing.lua"] = { ignore = { "212" } }
files["tests/scenarios"] = { ignore = { "212" } }
