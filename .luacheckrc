std = "lua54"
max_line_length = 160
-- Services take (actor, id, input, req) uniformly; not every one uses every argument.
unused_args = false
