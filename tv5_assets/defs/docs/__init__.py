"""Group `docs`: documentation generated from the definitions and the live stores (the data dictionary)."""
