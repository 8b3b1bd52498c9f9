"""Apps, their categories, and who may use them."""
