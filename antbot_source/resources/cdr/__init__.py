"""The `cdr` resource: call records read in bounded date windows, walked by light worker processes."""
