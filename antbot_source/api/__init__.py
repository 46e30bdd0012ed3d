"""API -> client: the HTTP client of the AntBot API and the rules its answers follow."""
