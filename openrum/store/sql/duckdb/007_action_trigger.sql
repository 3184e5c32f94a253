-- The user input that started an action (`click on "Docs"`): a route change caused by a click
-- keeps the click's name here, its own name being `route to /page` (docs/protocol.md `trigger`).
-- Null for actions stored before, and for those no input started.

ALTER TABLE actions ADD COLUMN trigger VARCHAR;
