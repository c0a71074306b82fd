"""Writes of the product service, one module per concern: `catalog` (products and categories) and
`stock` (reservations for the order saga). The cache layer is `products.caching`."""
