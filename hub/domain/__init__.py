"""Domain rules of the staffing registry. Plain Python: no framework imports here."""
