"""The synthetic demo city (`hub demo`): ``city`` writes its registry as bulk-import CSVs, ``events`` plans and
streams the four departments' events about its people, with planted disagreements."""
