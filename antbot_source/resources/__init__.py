"""Client -> resources: the `antbot` dlt source and its resources (full tables, subscribers, CDRs)."""
