-- The company's logo (Administration › Design). The other design choices are company settings;
-- the logo is an image, checked by lib/image.lua before it is stored, so it has a row of its own.
-- rev grows with every new logo: its address carries it, so browsers may keep the image a day.
CREATE TABLE design_logo (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  type        TEXT NOT NULL CHECK (type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
  data        BLOB NOT NULL,
  rev         INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  updated_by  INTEGER REFERENCES users(id) ON DELETE SET NULL
);
