"""Small reusable widgets: banners, the period chooser, passphrase fields, the region picker."""
