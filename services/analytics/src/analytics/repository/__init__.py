"""The only package of analytics that builds queries."""
