"""Feature definitions (as data) and the DataFrame transformations that compute them."""
