-- Services with an init(app) (job handlers, hooks), run once at start in this order.
return {
  "settings",
}
